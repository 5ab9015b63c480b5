package feature_test

import (
	"context"
	"testing"
	"time"

	"github.com/redis/rueidis"
)

func BenchmarkZZHit(b *testing.B) {
	raw, part, session := rawPartSession(b)
	request, cancel := context.WithTimeout(context.Background(), time.Hour)
	b.Cleanup(cancel)
	for _, c := range []rueidis.Client{raw, session.Client} {
		_ = c.Do(request, c.B().Set().Key("hot").Value("0123456789abcdef").Build()).Error()
	}
	for _, ctx := range []struct {
		name string
		ctx  context.Context
	}{{"bg", context.Background()}, {"dl", request}} {
		for _, c := range []struct {
			name string
			c    rueidis.Client
		}{{"raw", raw}, {"part", part}, {"session", session.Client}} {
			b.Run(ctx.name+"-"+c.name, func(b *testing.B) {
				cl := c.c
				_ = cl.DoCache(ctx.ctx, cl.B().Get().Key("hot").Cache(), 60e9).Error()
				b.ReportAllocs()
				for b.Loop() {
					_ = cl.DoCache(ctx.ctx, cl.B().Get().Key("hot").Cache(), 60e9).Error()
				}
			})
		}
	}
}
