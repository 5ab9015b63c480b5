//go:build !unix

package feature_test

import "time"

func processCPU() (time.Duration, bool) { return 0, false }
