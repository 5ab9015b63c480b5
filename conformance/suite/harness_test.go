package rueidiscompat

// The harness: it replaces the BeforeSuite and AfterSuite of
// rueidiscompat's adapter_test.go (which the copy removes). It builds the
// adapters the specs use on the servers the runner names, over raw
// rueidis clients or over wireredis parts, as the environment says:
//
//	CONFORMANCE_CLIENT    raw, or part
//	CONFORMANCE_HASHTAG   true: parts use a hash tag ({t}: instead of t:)
//	CONFORMANCE_RESP3     addresses for adapterresp3 (RESP3)
//	CONFORMANCE_RESP2     addresses for adapterresp2 (RESP2, no cache)
//	CONFORMANCE_CLUSTER3  cluster seeds for adaptercluster3
//	CONFORMANCE_CLUSTER2  cluster seeds for adaptercluster2 (no cache)
//	CONFORMANCE_SEARCH    a server for adaptersearchresp2 (RESP2, no cache)
//	CONFORMANCE_REDIS86   a server for adapterresp3redis86
//
// Addresses are comma-separated host:port. The runner skips the search
// and Redis 8.6 specs (-ginkgo.skip: they need modules or a newer
// server), but their BeforeEach, registered at the top container, runs
// before every spec of it and flushes their adapters' servers: these get
// servers of their own.

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/redis/rueidis"

	"github.com/wireredis/wireredis/feature"
	"github.com/wireredis/wireredis/provider"
	"github.com/wireredis/wireredis/registry"
)

// The ports MIGRATE names in "should Migrate" (the copy puts these in
// place of 6378 and 6356).
var portResp3, portResp2 int64

// admins maps each adapter over a part to an adapter over the registry's
// unnamespaced client of the same server. unscoped uses it: the copy sends
// the FLUSHDB and FLUSHALL of setup nodes through it.
var admins = map[Cmdable]Cmdable{}

// unscoped returns the unnamespaced adapter of a, or a itself (raw clients).
func unscoped(a Cmdable) Cmdable {
	if u, ok := admins[a]; ok {
		return u
	}
	return a
}

// cleanups run in AfterSuite, last first.
var cleanups []func()

// namespace is the parts' namespace.
const namespace = "t"

// setting describes one of the suite's clients as rueidiscompat's
// BeforeSuite made it (name "rueidis"; the RESP2 ones without client-side
// caching). rueidiscompat's RESP2 server is a Redis 5, which speaks RESP2
// only; against one Redis version here the RESP2 standalone clients ask
// for RESP2 instead.
type setting struct {
	env          string
	disableCache bool
	resp2        bool
}

var (
	resp3Setting    = setting{env: "CONFORMANCE_RESP3"}
	resp2Setting    = setting{env: "CONFORMANCE_RESP2", disableCache: true, resp2: true}
	cluster3Setting = setting{env: "CONFORMANCE_CLUSTER3"}
	cluster2Setting = setting{env: "CONFORMANCE_CLUSTER2", disableCache: true}
	searchSetting   = setting{env: "CONFORMANCE_SEARCH", disableCache: true, resp2: true}
	redis86Setting  = setting{env: "CONFORMANCE_REDIS86"}
)

func (s setting) addrs() []string {
	v := os.Getenv(s.env)
	Expect(v).NotTo(BeEmpty(), s.env+" names no server: run the suite through TestConformance (see README.md)")
	return strings.Split(v, ",")
}

// raw is a plain rueidis client, as rueidiscompat's BeforeSuite makes it.
func (s setting) raw() rueidis.Client {
	c, err := rueidis.NewClient(rueidis.ClientOption{
		InitAddress:  s.addrs(),
		ClientName:   "rueidis",
		DisableCache: s.disableCache,
		AlwaysRESP2:  s.resp2,
	})
	Expect(err).NotTo(HaveOccurred())
	cleanups = append(cleanups, c.Close)
	return c
}

// options are the same settings as a user writes them: REDIS_*
// variables.
func (s setting) options() provider.Options {
	addrs := s.addrs()
	env := []string{"REDIS_CLIENT_NAME=rueidis"}
	if len(addrs) == 1 {
		host, port, err := net.SplitHostPort(addrs[0])
		Expect(err).NotTo(HaveOccurred())
		env = append(env, "REDIS_HOST="+host, "REDIS_PORT="+port)
	} else {
		env = append(env, "REDIS_ADDRS="+strings.Join(addrs, ","))
	}
	if s.disableCache {
		env = append(env, "REDIS_DISABLE_CACHE=true")
	}
	if s.resp2 {
		env = append(env, "REDIS_PROTOCOL=2")
	}
	opts, err := provider.LoadFrom(env)
	Expect(err).NotTo(HaveOccurred())
	return opts
}

// part opens the part "t" on the setting's server through reg, and
// records the unnamespaced adapter of the same server for unscoped.
func (s setting) part(reg *registry.Registry, hashTag bool) (rueidis.Client, Cmdable) {
	opts := s.options()
	part, release, err := feature.Part{Namespace: namespace, HashTag: hashTag}.Open(ctx, reg, opts)
	Expect(err).NotTo(HaveOccurred())
	cleanups = append(cleanups, release)
	admin, releaseAdmin, err := reg.Admin(ctx, opts)
	Expect(err).NotTo(HaveOccurred())
	cleanups = append(cleanups, releaseAdmin)
	adapter := NewAdapter(part)
	admins[adapter] = NewAdapter(admin)

	// The harness checks what it builds: a key written through the
	// adapter lands under the part's prefix, as the server sees it.
	prefix := namespace + ":"
	if hashTag {
		prefix = "{" + namespace + "}:"
	}
	Expect(adapter.Set(ctx, "harness-probe", "1", 0).Err()).NotTo(HaveOccurred())
	stored, err := admin.Do(ctx, admin.B().Getdel().Key(prefix+"harness-probe").Build()).ToString()
	Expect(err).NotTo(HaveOccurred(), "the part did not write "+prefix+"harness-probe")
	Expect(stored).To(Equal("1"))
	return part, adapter
}

func (s setting) client(reg *registry.Registry, hashTag bool) (rueidis.Client, Cmdable) {
	if reg == nil {
		c := s.raw()
		return c, NewAdapter(c)
	}
	return s.part(reg, hashTag)
}

func firstPort(s setting) int64 {
	_, p, err := net.SplitHostPort(s.addrs()[0])
	Expect(err).NotTo(HaveOccurred())
	n, err := strconv.ParseInt(p, 10, 64)
	Expect(err).NotTo(HaveOccurred())
	return n
}

var _ = BeforeSuite(func() {
	ctx = context.Background()
	var reg *registry.Registry
	hashTag := false
	switch mode := os.Getenv("CONFORMANCE_CLIENT"); mode {
	case "raw":
	case "part":
		var closeReg func()
		reg, closeReg = registry.New(slog.New(slog.DiscardHandler))
		cleanups = append(cleanups, closeReg)
		hashTag = os.Getenv("CONFORMANCE_HASHTAG") == "true"
	default:
		Fail(fmt.Sprintf("CONFORMANCE_CLIENT is %q: want raw or part", mode))
	}
	clientresp3, adapterresp3 = resp3Setting.client(reg, hashTag)
	clientresp2, adapterresp2 = resp2Setting.client(reg, hashTag)
	clusterresp3, adaptercluster3 = cluster3Setting.client(reg, hashTag)
	clusterresp2, adaptercluster2 = cluster2Setting.client(reg, hashTag)
	clientsearchresp2, adaptersearchresp2 = searchSetting.client(reg, hashTag)
	clientresp3redis86, adapterresp3redis86 = redis86Setting.client(reg, hashTag)
	portResp3, portResp2 = firstPort(resp3Setting), firstPort(resp2Setting)
})

var _ = AfterSuite(func() {
	for i := len(cleanups) - 1; i >= 0; i-- {
		cleanups[i]()
	}
})
