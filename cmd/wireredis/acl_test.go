package main

import (
	"context"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/redis/rueidis"

	"github.com/wireredis/wireredis/feature"
	"github.com/wireredis/wireredis/provider"
	"github.com/wireredis/wireredis/redistest"
	"github.com/wireredis/wireredis/registry"
)

// TestACLCommand pastes what acl prints into redis-cli, as an operator
// would, and checks the user it makes: the session part works under it,
// and the server refuses a script that reaches outside the namespace.
// (feature's TestACLEnforcedIsolation goes through every command family
// and every class a part refuses.)
func TestACLCommand(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	clearRedisEnv(t)
	t.Setenv("REDIS_URL", srv.URL())

	if code, _, errOut := runCmd(t, "acl", "-parts", "session"); code != 2 || !strings.Contains(errOut, "has no user name") {
		t.Errorf("acl without a user name: exit %d %q", code, errOut)
	}
	if code, _, errOut := runCmd(t, "acl", "-user", "a", "-per-part"); code != 2 {
		t.Errorf("acl -user -per-part: exit %d %q", code, errOut)
	}
	code, out, errOut := runCmd(t, "acl", "-parts", "session,cache", "-per-part")
	if code != 0 || strings.Count(out, "ACL SETUSER ") != 2 || !strings.Contains(out, "ACL SETUSER session ") || !strings.Contains(out, " ~cache:*\n") {
		t.Errorf("acl -per-part: exit %d\n%s%s", code, out, errOut)
	}

	code, out, errOut = runCmd(t, "acl", "-parts", "session", "-user", "app")
	if code != 0 || strings.Count(out, "\n") != 1 || !strings.Contains(errOut, "password") {
		t.Fatalf("acl -user app: exit %d\n%s%s", code, out, errOut)
	}
	// The line names what this server has, and only that: every server
	// rejects a whole ACL SETUSER naming a command it lacks.
	for _, cmd := range []string{"hexpire", "lmpop", "get"} {
		has := srv.HasCommand(ctx, cmd)
		if named := strings.Contains(out, " +"+cmd+" "); named != has {
			t.Errorf("acl names +%s: %v; the server (%s) has it: %v", cmd, named, srv.Version(t), has)
		}
	}
	if code, offline, _ := runCmd(t, "acl", "-parts", "session", "-user", "app", "-offline"); code != 0 || !strings.Contains(offline, " +hexpire ") || !strings.Contains(offline, " +lmpop ") {
		t.Errorf("acl -offline: exit %d, want every command of the key table:\n%s", code, offline)
	}
	cli := exec.Command("redis-cli", "-h", "127.0.0.1", "-p", strconv.Itoa(srv.Port()))
	cli.Stdin = strings.NewReader(out)
	if reply, err := cli.CombinedOutput(); err != nil || strings.TrimSpace(string(reply)) != "OK" {
		t.Fatalf("redis-cli took %q: %s %v", out, reply, err)
	}
	admin := srv.Client
	for _, cmd := range []rueidis.Completed{
		admin.B().AclSetuser().Username("app").Rule(">app-password").Build(),
		admin.B().Set().Key("victim").Value("secret").Build(),
	} {
		if err := admin.Do(ctx, cmd).Error(); err != nil {
			t.Fatal(err)
		}
	}

	base, err := provider.LoadFrom([]string{"REDIS_URL=" + srv.URL(), "REDIS_USERNAME=app", "REDIS_PASSWORD=app-password"})
	if err != nil {
		t.Fatal(err)
	}
	reg, closeReg := registry.New(discardLogger())
	defer closeReg()
	session, release, err := feature.ProvideSessionRedis(ctx, reg, base)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	if err := session.Do(ctx, session.B().Set().Key("k").Value("v").Build()).Error(); err != nil {
		t.Errorf("SET through the part as app: %v", err)
	}
	if v, err := session.DoCache(ctx, session.B().Get().Key("k").Cache(), 0).ToString(); err != nil || v != "v" {
		t.Errorf("a cached GET through the part as app: %q %v", v, err)
	}
	err = session.Do(ctx, session.B().Eval().Script("return redis.call('GET', 'victim')").Numkeys(0).Build()).Error()
	if !redistest.DeniedByACL(err) {
		t.Errorf("a script reaching victim as app: %v, want the server's refusal", err)
	}
}
