package main

// tunerd's logs write durations with their unit ("heartbeat": "5s").
import _ "github.com/zotune/zotune/internal/logfmt"
