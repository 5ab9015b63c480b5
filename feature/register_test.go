package feature_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"github.com/wireredis/wireredis/feature"
	"github.com/wireredis/wireredis/redistest"
)

// run numbers the runs of a test (go test -count=N): registrations are
// process-wide, so each run registers names of its own.
var run atomic.Int64

// registerJSONMGet registers JSON.MGET once per test process: a name is
// registered once.
var registerJSONMGet sync.Once

func TestRegisterCommand(t *testing.T) {
	r := "R" + strconv.FormatInt(run.Add(1), 10)
	for name, spec := range map[string]feature.CommandSpec{
		"XJSON.SET" + r:             {Keys: []feature.KeySpec{feature.KeyAt(1)}},
		"XJSON.MGET" + r:            {Keys: []feature.KeySpec{{BeginIndex: 1, LastKey: -2, KeyStep: 1}}},
		"XFT.SEARCH" + r:            {Keyless: true},
		"XGRAPH.RO_QUERY" + r:       {Keys: []feature.KeySpec{feature.KeyAt(1)}},
		"XTF.CALL" + r:              {Keys: []feature.KeySpec{feature.KeysCounted(2)}},
		"XBF.INSERT" + r:            {Keys: []feature.KeySpec{feature.KeyAt(1)}},
		"XTS.MRANGE" + r:            {Keyless: true},
		"XCF.ADD" + r:               {Keys: []feature.KeySpec{feature.KeyAt(1)}},
		"XTOPK.ADD" + r:             {Keys: []feature.KeySpec{feature.KeyAt(1)}},
		"XSEARCH.CONF" + r + " GET": {Keyless: true},
		"XSEARCH.MULTI" + r:         {Keys: []feature.KeySpec{feature.KeysFrom(1)}},
	} {
		if err := feature.RegisterCommand(name, spec); err != nil {
			t.Fatalf("RegisterCommand(%s): %v", name, err)
		}
	}
	rec := newRecorder(t)
	s := feature.New(rec, "session")
	b := rec.b
	for _, tc := range []struct {
		cmd  rueidis.Completed
		want string
	}{
		{b.Arbitrary("XJSON.SET"+r).Keys("doc").Args("$", "{}").Build(), "XJSON.SET" + r + " session:doc $ {}"},
		{b.Arbitrary("xjson.mget"+strings.ToLower(r)).Keys("a", "b").Args("$").Build(), "xjson.mget" + strings.ToLower(r) + " session:a session:b $"},
		{b.Arbitrary("XFT.SEARCH"+r, "idx", "hello").Build(), "XFT.SEARCH" + r + " idx hello"},
		{b.Arbitrary("XTF.CALL"+r, "lib.fn", "2").Keys("a", "b").Args("x").Build(), "XTF.CALL" + r + " lib.fn 2 session:a session:b x"},
		{b.Arbitrary("XSEARCH.CONF"+r, "GET", "*").Build(), "XSEARCH.CONF" + r + " GET *"},
		{b.Arbitrary("XSEARCH.MULTI"+r).Keys("a", "b", "c").Build(), "XSEARCH.MULTI" + r + " session:a session:b session:c"},
	} {
		rec.sent = rec.sent[:0]
		if err := s.Do(context.Background(), tc.cmd).Error(); err != nil {
			t.Fatalf("%s: %v", tc.want, err)
		}
		if got := strings.Join(rec.sent[0].Commands(), " "); got != tc.want {
			t.Errorf("sent %q, want %q", got, tc.want)
		}
	}
	// A pinned, cached JSON.MGET is copied: its keys prefixed, its path
	// not, and rueidis's MGET tag kept.
	registerJSONMGet.Do(func() {
		if err := feature.RegisterCommand("JSON.MGET", feature.CommandSpec{Keys: []feature.KeySpec{{BeginIndex: 1, LastKey: -2, KeyStep: 1}}}); err != nil {
			t.Fatal(err)
		}
	})
	rec.sent = rec.sent[:0]
	mget := b.JsonMget().Key("a", "b").Path("$").Cache().Pin()
	if err := s.DoCache(context.Background(), mget, time.Minute).Error(); err != nil {
		t.Fatal(err)
	}
	sent := rueidis.Cacheable(rec.sent[0])
	if got, want := strings.Join(sent.Commands(), " "), "JSON.MGET session:a session:b $"; got != want || !sent.IsMGet() {
		t.Errorf("DoCache sent %q (MGET tag %v), want %q with the tag", got, sent.IsMGet(), want)
	}
	// Still unknown: the container without a registered subcommand.
	if err := s.Do(context.Background(), b.Arbitrary("XSEARCH.CONF"+r, "SET", "x").Build()).Error(); !errors.Is(err, feature.ErrUnknownCommand) {
		t.Errorf("XSEARCH.CONF"+r+" SET: %v", err)
	}
}

func TestRegisterCommandErrors(t *testing.T) {
	dup := "XDUP.CMD" + strconv.FormatInt(run.Add(1), 10)
	if err := feature.RegisterCommand(dup, feature.CommandSpec{Keyless: true}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		spec feature.CommandSpec
		want string
	}{
		{"", feature.CommandSpec{Keyless: true}, "empty"},
		{"GET", feature.CommandSpec{Keys: []feature.KeySpec{feature.KeyAt(1)}}, "table has it"},
		{"object encoding", feature.CommandSpec{Keyless: true}, "table has it"},
		{dup, feature.CommandSpec{Keyless: true}, "twice"},
		{"XNONE.CMD", feature.CommandSpec{}, "Keyless"},
		{"XBOTH.CMD", feature.CommandSpec{Keyless: true, Keys: []feature.KeySpec{feature.KeyAt(1)}}, "Keyless"},
		{"XZERO.CMD", feature.CommandSpec{Keys: []feature.KeySpec{feature.KeyAt(0)}}, "BeginIndex"},
		{"XSTEP.CMD", feature.CommandSpec{Keys: []feature.KeySpec{{BeginIndex: 1}}}, "KeyStep"},
	} {
		err := feature.RegisterCommand(tc.name, tc.spec)
		if !errors.Is(err, feature.ErrRegister) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("RegisterCommand(%q): %v, want an ErrRegister saying %q", tc.name, err, tc.want)
		}
	}
}

// TestLearnCommands uses a server whose GETRANGE is renamed SLICE and SORT
// ORDERBY: commands the table does not have, that the server describes.
func TestLearnCommands(t *testing.T) {
	srv := redistest.Start(t, "--rename-command", "GETRANGE", "SLICE", "--rename-command", "SORT", "ORDERBY")
	ctx := context.Background()
	reg, base := parts(t, "REDIS_URL="+srv.URL(), "REDIS_LEARN_COMMANDS=true", "REDIS_CACHE_LEARN_COMMANDS=false")
	session, release, err := feature.Open(ctx, reg, base, "session")
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	cache, releaseCache, err := feature.Open(ctx, reg, base, "cache")
	if err != nil {
		t.Fatal(err)
	}
	defer releaseCache()
	must(t, srv.Client.Do(ctx, srv.Client.B().Set().Key("session:greeting").Value("hello").Build()))

	slice := func(c *feature.Client) rueidis.RedisResult {
		return c.Do(ctx, c.B().Arbitrary("SLICE").Keys("greeting").Args("0", "2").Build())
	}
	for range 3 {
		if got := str(t, slice(session)); got != "hel" {
			t.Fatalf("learned SLICE greeting 0 2 = %q", got)
		}
	}
	if calls := commandInfoCalls(t, srv); calls != 1 {
		t.Errorf("COMMAND INFO was called %d times for three SLICEs, want 1", calls)
	}
	// The cache part does not learn (REDIS_CACHE_LEARN_COMMANDS=false).
	if err := slice(cache).Error(); !errors.Is(err, feature.ErrUnknownCommand) {
		t.Errorf("SLICE through the cache part: %v, want ErrUnknownCommand", err)
	}
	// SORT's specs are incomplete (Redis 6.2, without specs: its keys
	// are movable): learned as refused, never sent.
	err = session.Do(ctx, session.B().Arbitrary("ORDERBY").Keys("l").Args("BY", "w_*").Build()).Error()
	if !errors.Is(err, feature.ErrRefused) || !strings.Contains(err.Error(), "incomplete") && !strings.Contains(err.Error(), "does not say where its keys are") {
		t.Errorf("ORDERBY: %v, want a refusal saying the specs are incomplete", err)
	}
	// Unknown to the server too: refused, and remembered.
	for range 2 {
		if err := session.Do(ctx, session.B().Arbitrary("NOSUCHCMD").Args("x").Build()).Error(); !errors.Is(err, feature.ErrUnknownCommand) {
			t.Errorf("NOSUCHCMD: %v", err)
		}
	}
	if calls := commandInfoCalls(t, srv); calls != 3 {
		t.Errorf("COMMAND INFO calls = %d, want 3 (SLICE, ORDERBY, NOSUCHCMD once each)", calls)
	}
}

// TestLearnCommandsWhenTheServerCannotSay: a learner whose COMMAND INFO
// fails refuses the command, saying so, and sends nothing.
func TestLearnCommandsWhenTheServerCannotSay(t *testing.T) {
	srv := redistest.Start(t)
	gone := redistest.Start(t)
	learner := feature.NewCommandLearner(gone.NewClient(t, nil))
	gone.Kill()
	part := feature.New(srv.Client, "session", feature.LearnCommands(learner))
	err := part.Do(context.Background(), part.B().Arbitrary("NOSUCHCMD").Args("x").Build()).Error()
	var ce *feature.CommandError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "(COMMAND INFO) failed") {
		t.Errorf("NOSUCHCMD with a learner that cannot ask: %v, want a *CommandError saying COMMAND INFO failed", err)
	}
	if calls := commandInfoCalls(t, srv); calls != 0 {
		t.Errorf("the server ran COMMAND INFO %d times, want 0", calls)
	}
}

// commandInfoCalls reads how often the server ran COMMAND INFO (Redis 6.2
// counts COMMAND with its subcommands: nobody else sends COMMAND here).
func commandInfoCalls(t *testing.T, srv *redistest.Server) int {
	t.Helper()
	info, err := srv.Client.Do(context.Background(), srv.Client.B().Info().Section("commandstats").Build()).ToString()
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(info, "\n") {
		line = strings.Replace(strings.TrimSpace(line), "cmdstat_command:calls=", "cmdstat_command|info:calls=", 1)
		if rest, ok := strings.CutPrefix(line, "cmdstat_command|info:calls="); ok {
			n, _ := strconv.Atoi(rest[:strings.IndexByte(rest, ',')])
			return n
		}
	}
	return 0
}
