package main

import (
	"fmt"
	"os"

	"github.com/zotune/zotune/study"
)

func main() {
	for _, f := range os.Args[1:] {
		c, err := study.Load(f)
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Printf("%+v\n", *c)
	}
}
