package rueidisx

import (
	"unsafe"

	"github.com/redis/rueidis"
)

// Retried reports whether MarkRetried marked cmd (for the tests: the
// registry tells a retried batch by the count of retries instead).
func Retried(cmd *rueidis.Completed) bool {
	if !pinVerified {
		return false
	}
	cs := (*completed)(unsafe.Pointer(cmd)).cs
	return cs != nil && cs.r == retried
}
