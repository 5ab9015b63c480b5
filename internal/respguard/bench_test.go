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

// BenchmarkFollowing writes SET and GET commands of 16-byte values in
// batches of 2,000 and reads their replies, through a Reader that
// follows the commands; against BenchmarkReader's guarded, the cost of
// following them.
func BenchmarkFollowing(b *testing.B) {
	commands := []byte(strings.Repeat(command("SET", "session:key:000001", "0123456789abcdef")+command("GET", "session:key:000001"), 1000))
	stream := []byte(strings.Repeat("+OK\r\n$16\r\n0123456789abcdef\r\n", 1000))
	buf := make([]byte, 16<<10)
	src := bytes.NewReader(stream)
	g := NewReader(src)
	g.FollowCommands()
	b.SetBytes(int64(len(stream)))
	b.ReportAllocs()
	for b.Loop() {
		for i := 0; i < len(commands); i += 4096 { // as bufio.Writer flushes
			g.Sent(commands[i:min(i+4096, len(commands))])
		}
		src.Reset(stream)
		for read := 0; read < len(stream); {
			n, err := g.Read(buf)
			if err != nil {
				b.Fatal(err)
			}
			read += n
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*2000), "ns/reply")
}
