package respguard

import (
	"bytes"
	"io"
	"strings"
	"testing"
)

// BenchmarkReader reads replies such as SET and GET of 16 bytes get, in
// reads of 16 KiB, through a Reader and straight.
func BenchmarkReader(b *testing.B) {
	stream := []byte(strings.Repeat("+OK\r\n$16\r\n0123456789abcdef\r\n", 1000))
	buf := make([]byte, 16<<10)
	for _, tc := range []struct {
		name string
		wrap func(io.Reader) io.Reader
	}{
		{"straight", func(r io.Reader) io.Reader { return r }},
		{"guarded", func(r io.Reader) io.Reader { return NewReader(r) }},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.SetBytes(int64(len(stream)))
			b.ReportAllocs()
			for b.Loop() {
				r := tc.wrap(bytes.NewReader(stream))
				for {
					if _, err := r.Read(buf); err != nil {
						break
					}
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*2000), "ns/reply")
		})
	}
}
