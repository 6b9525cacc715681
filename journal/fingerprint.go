package journal

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
)

// FingerprintVersion prefixes every fingerprint. It changes whenever what
// makes up a fingerprint does, or the points a study with the same
// fingerprint asks for (v4: the start point is the config's init exactly,
// not its unit-box round trip; v5: the adaptive Lanczos of curvature
// "lanczos", zo-gd's noise estimate, and the Lanczos certifier of the
// other finders on deterministic objectives; v6: the space-filling first
// batch and restarts), so that a journal written under the old format is
// reported as changed, never resumed.
const FingerprintVersion = "v6"

// Fingerprint condenses what determines a study's run into the string
// stored beside its records: v, the study's own choice of the fields that
// change which points it asks for or what their values mean, encoded as
// JSON and hashed. Open compares it with the stored one.
func Fingerprint(v any) string {
	data, _ := json.Marshal(v)
	sum := sha256.Sum256(data)
	return FingerprintVersion + ":" + hex.EncodeToString(sum[:12])
}
