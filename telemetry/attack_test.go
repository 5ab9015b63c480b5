package telemetry_test

// Attacks on the telemetry's promises (issue 17): what a caller sends
// must never reach a span or a metric point, the counts must be the
// server's, the series must stay bounded whatever the caller chooses, the
// switches must switch, and nothing may be left running. Each test judges
// by what the user of the telemetry would see, and by the server.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/rueidis"
	"github.com/redis/rueidis/rueidiscompat"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.uber.org/goleak"

	"github.com/wireredis/wireredis/feature"
	"github.com/wireredis/wireredis/internal/testsupport"
	"github.com/wireredis/wireredis/provider"
	"github.com/wireredis/wireredis/redistest"
	"github.com/wireredis/wireredis/telemetry"
)

// upperMark is a secret written the way Redis writes its error prefixes
// (upper case, digits, _): the marks of TestSpansAndMetrics are lower
// case, which the prefix parser drops before they could be recorded.
const upperMark = "KQ7_SECRET"

// TestAttackScriptErrorPrefix: a script (or function) may answer any
// error reply it likes, and its first word is what the caller or the data
// chose: an argument, a value read from a key. It must not become
// error.type or db.response.status_code (promise 1), nor one series per
// value (promise 3).
func TestAttackScriptErrorPrefix(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	r := newRig(t, "REDIS_URL="+srv.URL())
	part := r.open(t, "session")
	const distinct = 50
	evals := distinct + 4
	for i := range distinct {
		// The argument holds the secret: a token, an order number ... in
		// upper case, as an application's own error codes often are.
		arg := upperMark + strconv.Itoa(i)
		err := part.Do(ctx, part.B().Eval().Script("return redis.error_reply(ARGV[1] .. ' is locked')").Numkeys(0).Arg(arg).Build()).Error()
		if err == nil || !strings.HasPrefix(err.Error(), arg) {
			t.Fatalf("EVAL error_reply: %v, want the reply %q...", err, arg)
		}
	}
	// The same word after ERR: rueidis takes "ERR " off every error
	// reply (message.go, for kvrocks), so the word after it looks like
	// the prefix.
	for _, script := range []string{
		"return {err='ERR ' .. ARGV[1]}",
		"return redis.error_reply('ERR ' .. ARGV[1] .. ' not found')",
		"error({err=ARGV[1] .. ' x'})",
	} {
		if err := part.Do(ctx, part.B().Eval().Script(script).Numkeys(0).Arg(upperMark+"_ERR").Build()).Error(); err == nil {
			t.Fatalf("EVAL %s: no error", script)
		}
	}
	// A value read from a key: the data, not even the caller, chooses.
	if err := part.Do(ctx, part.B().Set().Key("k").Value(upperMark+"_VALUE").Build()).Error(); err != nil {
		t.Fatal(err)
	}
	if err := part.Do(ctx, part.B().Eval().Script("return redis.error_reply(redis.call('GET', KEYS[1]))").Numkeys(1).Key("k").Build()).Error(); err == nil {
		t.Fatal("EVAL error_reply(GET k): no error")
	}

	classes := map[string]bool{}
	for _, s := range r.ended() {
		if s.Name == "EVAL" {
			classes[s.Attrs["error.type"]] = true
		}
	}
	if len(classes) > 1 {
		t.Errorf("%d EVALs whose error replies began with caller-chosen words gave %d error.type values (one span attribute and one metric series each); want them all classed alike", evals, len(classes))
	}
	series := 0
	for a := range points(r.collect(t))[telemetry.OperationDuration] {
		if strings.Contains(a, "db.operation.name=EVAL") {
			series++
		}
	}
	if series > 1 {
		t.Errorf("%s: %d series for EVAL, one per error reply's first word; want 1", telemetry.OperationDuration, series)
	}
	reportSecrets(t, r, upperMark)
}

// reportSecrets is assertNoSecrets, with at most three findings shown:
// an attack that succeeds finds a secret in every point.
func reportSecrets(t *testing.T, r *rig, secrets ...string) {
	t.Helper()
	found := secretsIn(t, r, secrets...)
	if len(found) > 0 {
		t.Errorf("%d texts of the telemetry hold a secret; the first: %q", len(found), found[:min(3, len(found))])
	}
}

// secretsIn returns each span name, status, attribute set, event and
// link, and each metric's name and point attributes, that holds one of
// secrets.
func secretsIn(t *testing.T, r *rig, secrets ...string) []string {
	t.Helper()
	var texts []string
	for _, s := range r.spans.Ended() {
		texts = append(texts, s.Name(), s.Status().Description, attrString(attrMap(s.Attributes())))
		for _, e := range s.Events() {
			texts = append(texts, e.Name, attrString(attrMap(e.Attributes)))
		}
		for _, l := range s.Links() {
			texts = append(texts, attrString(attrMap(l.Attributes)))
		}
	}
	rm := r.collect(t)
	texts = append(texts, rm.Resource.String())
	for name, byAttrs := range points(rm) {
		texts = append(texts, name)
		for a := range byAttrs {
			texts = append(texts, a)
		}
	}
	var found []string
	for _, text := range texts {
		for _, s := range secrets {
			if strings.Contains(strings.ToLower(text), strings.ToLower(s)) {
				found = append(found, text)
				break
			}
		}
	}
	return found
}

// The marks of TestAttackNoSecrets: every key, value, argument, channel,
// pattern, script body, function name, user name and password holds one,
// in lower case and in the upper case of Redis's error prefixes.
const (
	attackKey     = "kq9k"
	attackValue   = "vq9v"
	attackChannel = "cq9c"
	attackScript  = "sq9s"
	attackUser    = "uq9user"
	attackPass    = "pq9-pass/+?"
)

// TestAttackNoSecrets sends everything a caller can through a part whose
// connection authenticates as a named ACL user, keys, values and names
// marked, and looks for the marks in every span and metric point
// (promise 1): odd commands, a key where a command's or a subcommand's
// name goes, errors that quote keys, Arbitrary, Dedicated and Dedicate,
// DoStream and DoMultiStream, DoCache and DoMultiCache, subscriptions,
// Scan, scripts and functions.
func TestAttackNoSecrets(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t, "--requirepass", "admin-"+attackPass)
	admin := srv.Client
	if err := admin.Do(ctx, admin.B().Arbitrary("ACL", "SETUSER", attackUser, "on", ">"+attackPass, "~*", "&*", "+@all").Build()).Error(); err != nil {
		t.Fatal(err)
	}
	r := newRig(t, "REDIS_URL="+srv.URL(), "REDIS_USERNAME="+attackUser, "REDIS_PASSWORD="+attackPass)
	part := r.open(t, "session")
	b := part.B()
	lower := func(s string) string { return s + "-" + strconv.Itoa(len(s)) }
	upper := func(s string) string { return strings.ToUpper(strings.ReplaceAll(s, "-", "_")) }
	key, val := lower(attackKey), lower(attackValue)
	ukey, uval := upper(attackKey), upper(attackValue)

	// Replies do not matter here, only what the telemetry keeps of them.
	send := func(cmds ...rueidis.Completed) {
		for _, c := range cmds {
			_ = part.Do(ctx, c).Error()
		}
	}
	send(
		b.Set().Key(key).Value(val).Build(),
		b.Set().Key(ukey).Value(uval).Build(),
		b.Get().Key(key).Build(),
		b.Lpush().Key(ukey).Element(uval).Build(),                                      // WRONGTYPE
		b.Xreadgroup().Group(ukey, ukey).Streams().Key(ukey+"_STREAM").Id(">").Build(), // NOGROUP quoting the key
		b.Arbitrary(ukey).Args(uval).Build(),                                           // a key where the name goes
		b.Arbitrary(key).Build(),                                                       // ... in lower case
		b.Arbitrary("CLIENT", ukey).Build(),                                            // ... where a subcommand goes
		b.Arbitrary("OBJECT", ukey).Keys(key).Build(),                                  //
		b.Arbitrary("get").Keys(ukey).Build(),                                          // a name in lower case
		b.Arbitrary("CONFIG", "SET", "requirepass", uval).Build(),                      // refused
		b.Arbitrary("AUTH", attackUser, attackPass).Build(),                            // credentials as arguments
		b.Arbitrary("HELLO", "3", "AUTH", attackUser, attackPass).Build(),              //
		b.Arbitrary("ACL", "SETUSER", upper(attackUser), ">"+attackPass).Build(),       //
		b.Arbitrary("MIGRATE", "127.0.0.1", "1", ukey, "0", "10", "AUTH", attackPass).Build(),
		b.Eval().Script("return '"+upper(attackScript)+"'").Numkeys(1).Key(ukey).Arg(uval).Build(),
		b.Eval().Script("error('"+upper(attackScript)+"')").Numkeys(0).Build(), // a script's own error
		b.ScriptLoad().Script("return '"+upper(attackScript)+"_LOADED'").Build(),
		b.Evalsha().Sha1("ffffffffffffffffffffffffffffffffffffffff").Numkeys(1).Key(ukey).Build(), // NOSCRIPT
		b.FunctionLoad().FunctionCode("#!lua name="+upper(attackScript)+"LIB\nredis.register_function('"+upper(attackScript)+"FN', function(keys, args) return args[1] end)").Build(),
		b.Fcall().Function(upper(attackScript)+"FN").Numkeys(1).Key(ukey).Arg(uval).Build(),
		b.Fcall().Function(upper(attackScript)+"MISSING").Numkeys(0).Build(),
		b.Publish().Channel(upper(attackChannel)).Message(uval).Build(),
		b.Spublish().Channel(upper(attackChannel)).Message(uval).Build(),
		b.ObjectEncoding().Key(ukey).Build(),
		b.Rename().Key(ukey).Newkey(key).Build(),
	)
	for range part.DoMulti(ctx, b.Set().Key(ukey).Value(uval).Build(), b.Arbitrary(ukey).Build()) {
	}
	for range part.DoMulti(ctx, b.Set().Key(ukey).Value(uval).Build(), b.Incr().Key(ukey).Build()) {
	}
	for range part.DoMultiCache(ctx, rueidis.CT(b.Get().Key(ukey).Cache(), time.Minute), rueidis.CT(b.Hgetall().Key(ukey).Cache(), time.Minute)) {
	}
	_ = part.DoCache(ctx, b.Get().Key(ukey).Cache(), time.Minute).Error()
	_ = part.DoCache(ctx, b.Get().Key(ukey).Cache(), time.Minute).Error()
	var sink strings.Builder
	stream := part.DoStream(ctx, b.Get().Key(ukey).Build())
	if _, err := stream.WriteTo(&sink); err != nil {
		t.Fatal(err)
	}
	refusedStream := part.DoStream(ctx, b.Arbitrary(ukey).Build())
	if refusedStream.Error() == nil {
		t.Error("DoStream of a key as a command: no error")
	}
	ms := part.DoMultiStream(ctx, b.Get().Key(ukey).Build(), b.Get().Key(key).Build())
	for ms.HasNext() {
		if _, err := ms.WriteTo(&sink); err != nil && !rueidis.IsRedisNil(err) {
			t.Fatal(err)
		}
	}
	if err := part.Dedicated(func(d rueidis.DedicatedClient) error {
		_ = d.Do(ctx, d.B().Watch().Key(ukey).Build()).Error()
		for range d.DoMulti(ctx, d.B().Multi().Build(), d.B().Set().Key(ukey).Value(uval).Build(), d.B().Lpush().Key(ukey).Element(uval).Build(), d.B().Exec().Build()) {
		}
		_ = d.Do(ctx, d.B().Arbitrary(ukey).Build()).Error()
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	d, release := part.Dedicate()
	_ = d.Do(ctx, d.B().Get().Key(ukey).Build()).Error()
	subCtx, cancel := context.WithCancel(ctx)
	cancel() // the subscription ends at once, canceled
	_ = d.Receive(subCtx, d.B().Subscribe().Channel(upper(attackChannel)).Build(), func(rueidis.PubSubMessage) {})
	release()
	for _, sub := range []rueidis.Completed{
		b.Subscribe().Channel(upper(attackChannel), lower(attackChannel)).Build(),
		b.Psubscribe().Pattern(upper(attackChannel) + "*").Build(),
		b.Ssubscribe().Channel(upper(attackChannel)).Build(),
	} {
		subCtx, cancel := context.WithCancel(ctx)
		cancel()
		_ = part.Receive(subCtx, sub, func(rueidis.PubSubMessage) {})
	}
	for _, err := range part.Scan(ctx, feature.ScanOptions{Match: ukey + "*", Type: "string"}) {
		if err != nil {
			t.Fatal(err)
		}
	}
	// A timeout and a cancellation: Go errors whose text may name the
	// server, never the command's arguments.
	tctx, tcancel := context.WithTimeout(ctx, time.Nanosecond)
	_ = part.Do(tctx, b.Blpop().Key(ukey).Timeout(1).Build()).Error()
	tcancel()

	// Each way in was taken, and ended as it should have.
	kinds := map[string]bool{}
	for _, s := range r.ended() {
		kinds[s.Name+" "+s.Attrs["error.type"]] = true
	}
	sharded := []string{"SPUBLISH ", "SSUBSCRIBE canceled"}
	if !srv.HasCommand(ctx, "SPUBLISH") {
		sharded = []string{"SPUBLISH ERR"} // Redis 6.2: unknown command (its words are no series)
	}
	for _, want := range append([]string{
		"SET ", "GET ", "LPUSH WRONGTYPE", "XREADGROUP NOGROUP", "UNKNOWN unknown_command",
		"CONFIG SET refused", "EVAL ", "EVAL ERR", "EVALSHA NOSCRIPT", "SCRIPT LOAD refused", "FUNCTION LOAD refused", "FCALL ERR",
		"AUTH refused", "HELLO refused", "MIGRATE refused", "ACL SETUSER refused", "PIPELINE WRONGTYPE",
		"PUBLISH ", "BATCH GET ", "PIPELINE ", "PIPELINE unknown_command", "WATCH ", "SUBSCRIBE canceled",
		"PSUBSCRIBE canceled", "SCAN ", "BLPOP timeout",
	}, sharded...) {
		if !kinds[want] {
			t.Errorf("no span %q among %v", want, kinds)
		}
	}
	reportSecrets(t, r, attackKey, attackValue, attackChannel, attackScript, attackUser, attackPass, "session:")
}

// TestAttackErrorTypeOfERR: Redis's own ERR replies whose next word is in
// upper case (ERR XX and NX options ..., ERR RANK can't be zero ...)
// have the prefix ERR, as docs/operations.md's table says; rueidis takes
// "ERR " off every error, and the word after it must not pass for the
// prefix (a wrong error.type, and a series per such word).
func TestAttackErrorTypeOfERR(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	r := newRig(t, "REDIS_URL="+srv.URL())
	part := r.open(t, "session")
	b := part.B()
	for _, cmd := range []rueidis.Completed{
		b.Arbitrary("ZADD").Keys("z").Args("XX", "NX", "1", "m").Build(),                       // ERR XX and NX options ...
		b.Zadd().Key("z").Incr().ScoreMember().ScoreMember(1, "a").ScoreMember(2, "b").Build(), // ERR INCR option supports ...
		b.Lpos().Key("l").Element("x").Rank(0).Build(),                                         // ERR RANK can't be zero ...
	} {
		if err := part.Do(ctx, cmd).Error(); err == nil {
			t.Fatalf("%v: no error", cmd.Commands())
		}
	}
	for _, s := range r.ended() {
		if got := s.Attrs["error.type"]; got != "ERR" || s.Attrs["db.response.status_code"] != "ERR" {
			t.Errorf("%s answered -ERR ...: error.type %q, db.response.status_code %q; want ERR", s.Name, got, s.Attrs["db.response.status_code"])
		}
	}
}

// TestAttackLearnedCommandName: with REDIS_LEARN_COMMANDS a part sends a
// command its key table lacks once the server described it (here
// GETRANGE renamed SLICE). docs/operations.md names such a command's span
// by the command ("registered or learned"), as the server describes it:
// GETRANGE, the name INFO commandstats counts it by. UNKNOWN is the name
// of the commands refused unsent, and a sent command under it would make
// the spans disagree with what the server ran.
func TestAttackLearnedCommandName(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t, "--rename-command", "GETRANGE", "SLICE")
	r := newRig(t, "REDIS_URL="+srv.URL(), "REDIS_LEARN_COMMANDS=true")
	part := r.open(t, "session")
	if err := part.Do(ctx, part.B().Set().Key("greeting").Value("hello").Build()).Error(); err != nil {
		t.Fatal(err)
	}
	got, err := part.Do(ctx, part.B().Arbitrary("SLICE").Keys("greeting").Args("0", "2").Build()).ToString()
	if err != nil || got != "hel" {
		t.Fatalf("learned SLICE: %q, %v", got, err)
	}
	// INFO commandstats counts a renamed command by its original name.
	if calls := commandCalls(t, srv.Client)["getrange"]; calls != 1 {
		t.Fatalf("the server ran SLICE (GETRANGE) %d times, want 1", calls)
	}
	spans := r.ended()
	last := spans[len(spans)-1]
	if last.Error || last.Name != "GETRANGE" || last.Attrs["db.operation.name"] != "GETRANGE" {
		t.Errorf("the span of a learned SLICE the server ran: %+v; want it named GETRANGE, as the server counts it, without an error", last)
	}
}

// TestAttackCountsMatchServer: one span per command a part sends, by
// every way a part sends (promise 2), judged by the server's own counts
// (INFO commandstats): streams, a dedicated connection taken with
// Dedicate, the part over a node (Nodes), a subscription held until
// the server saw it, rueidiscompat's adapter over the part, and a batch
// of which one command is refused, which the server must not see at all.
func TestAttackCountsMatchServer(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	r := newRig(t, "REDIS_URL="+srv.URL())
	part := r.open(t, "session")
	admin := srv.Client
	if err := admin.Do(ctx, admin.B().ConfigResetstat().Build()).Error(); err != nil {
		t.Fatal(err)
	}
	b := part.B()
	must := func(res rueidis.RedisResult) {
		t.Helper()
		if err := res.Error(); err != nil && !rueidis.IsRedisNil(err) {
			t.Fatal(err)
		}
	}
	must(part.Do(ctx, b.Set().Key("a").Value("1").Build()))
	var sink strings.Builder
	stream := part.DoStream(ctx, b.Get().Key("a").Build())
	if _, err := stream.WriteTo(&sink); err != nil {
		t.Fatal(err)
	}
	ms := part.DoMultiStream(ctx, b.Get().Key("a").Build(), b.Get().Key("a").Build())
	for ms.HasNext() {
		if _, err := ms.WriteTo(&sink); err != nil {
			t.Fatal(err)
		}
	}
	d, release := part.Dedicate()
	must(d.Do(ctx, d.B().Get().Key("a").Build()))
	for _, res := range d.DoMulti(ctx, d.B().Incr().Key("n").Build(), d.B().Incr().Key("n").Build()) {
		must(res)
	}
	release()
	for _, node := range part.Nodes() {
		must(node.Do(ctx, node.B().Incr().Key("n").Build()))
	}
	// A batch with a refused command: nothing of it is sent.
	for _, res := range part.DoMulti(ctx, b.Incr().Key("n").Build(), b.Flushall().Build()) {
		if res.Error() == nil {
			t.Fatal("a batch holding FLUSHALL was sent")
		}
	}
	compat := rueidiscompat.NewAdapter(part)
	if err := compat.Set(ctx, "c", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if err := compat.Get(ctx, "c").Err(); err != nil {
		t.Fatal(err)
	}
	subCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- part.Receive(subCtx, b.Subscribe().Channel("news").Build(), func(rueidis.PubSubMessage) {})
	}()
	testsupport.WaitFor(t, 5*time.Second, "the subscription", func() bool {
		n, _ := admin.Do(ctx, admin.B().PubsubNumsub().Channel("session:news").Build()).AsIntMap()
		return n["session:news"] == 1
	})
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Receive: %v", err)
	}

	spans := sentBySpans(r, "canceled") // the subscription, sent and then ended
	calls := commandCalls(t, admin)
	for _, cmd := range []string{"set", "get", "incr", "subscribe", "flushall"} {
		if calls[cmd] != spans[cmd] {
			t.Errorf("the server ran %s %d times, the spans say %d (server %v, spans %v)", cmd, calls[cmd], spans[cmd], calls, spans)
		}
	}
	if calls["incr"] != 3 || calls["get"] != 5 || calls["set"] != 2 {
		t.Errorf("the server ran %v: the attack did not run as meant", calls)
	}
}

// TestAttackSeriesBounded: what a caller chooses (command words, keys
// where names go, subcommands, the case of a name, keys, channels,
// patterns) makes no new series (promise 3). A round of fresh choices
// after a first one must leave the number of series as it was.
func TestAttackSeriesBounded(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	r := newRig(t, "REDIS_URL="+srv.URL())
	part := r.open(t, "session")
	b := part.B()
	round := func(from, to int) {
		for i := from; i < to; i++ {
			w := "W" + strconv.Itoa(i)
			for _, cmd := range []rueidis.Completed{
				b.Arbitrary("NOSUCH" + w).Build(),
				b.Arbitrary("user:"+w, "v").Build(),
				b.Arbitrary("CLIENT", w).Build(),
				b.Arbitrary("CONFIG", w).Build(),
				b.Arbitrary("OBJECT", w).Keys("k").Build(),
				b.Arbitrary(caseOf("get", i)).Keys("k" + w).Build(),
				b.Set().Key("k" + w).Value(w).Build(),
				b.Publish().Channel("ch" + w).Message(w).Build(),
				b.Lpush().Key("k" + w).Element(w).Build(), // WRONGTYPE
			} {
				_ = part.Do(ctx, cmd).Error()
			}
			for range part.DoMulti(ctx, b.Get().Key("k"+w).Build(), b.Arbitrary("NOSUCH"+w).Build()) {
			}
			for range part.DoMulti(ctx, b.Get().Key("k"+w).Build(), b.Get().Key("j"+w).Build()) {
			}
			subCtx, cancel := context.WithCancel(ctx)
			cancel()
			_ = part.Receive(subCtx, b.Psubscribe().Pattern("p"+w+"*").Build(), func(rueidis.PubSubMessage) {})
			for _, err := range part.Scan(ctx, feature.ScanOptions{Match: "k" + w + "*"}) {
				if err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	series := func() map[string]int {
		out := map[string]int{}
		for name, byAttrs := range points(r.collect(t)) {
			out[name] = len(byAttrs)
		}
		return out
	}
	round(0, 20)
	first := series()
	if first[telemetry.OperationDuration] < 5 || first[telemetry.Refused] < 2 {
		t.Fatalf("series %v: the attack did not run", first)
	}
	round(20, 60)
	if again := series(); fmt.Sprint(again) != fmt.Sprint(first) {
		t.Errorf("fresh caller choices made new series: %v, then %v", first, again)
	}
}

// caseOf spells name in the case pattern of i's bits (get, Get, gEt ...).
func caseOf(name string, i int) string {
	out := []byte(name)
	for j := range out {
		if i>>j&1 == 1 {
			out[j] -= 'a' - 'A'
		}
	}
	return string(out)
}

// TestAttackOffSwitches: REDIS_OTEL=off is everything off, a part's own
// REDIS_<PART>_OTEL=on included; REDIS_<PART>_OTEL=off keeps every way
// the part sends out of the telemetry (Do, DoMulti, DoCache, DoStream,
// Dedicated, Receive, Scan), for a hash-tag part and for a part on a
// connection of its own, while the other parts are observed; and a
// switch spelled otherwise than on or off is an error naming the
// variable, not silently on (promise 4).
func TestAttackOffSwitches(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	everything := func(part *feature.Client) {
		t.Helper()
		b := part.B()
		_ = part.Do(ctx, b.Set().Key("k").Value("v").Build()).Error()
		_ = part.Do(ctx, b.Flushall().Build()).Error() // refused
		for range part.DoMulti(ctx, b.Get().Key("k").Build(), b.Get().Key("j").Build()) {
		}
		_ = part.DoCache(ctx, b.Get().Key("k").Cache(), time.Minute).Error()
		for range part.DoMultiCache(ctx, rueidis.CT(b.Get().Key("k").Cache(), time.Minute)) {
		}
		s := part.DoStream(ctx, b.Get().Key("k").Build())
		var sink strings.Builder
		if _, err := s.WriteTo(&sink); err != nil {
			t.Fatal(err)
		}
		if err := part.Dedicated(func(d rueidis.DedicatedClient) error {
			return d.Do(ctx, d.B().Get().Key("k").Build()).Error()
		}); err != nil {
			t.Fatal(err)
		}
		subCtx, cancel := context.WithCancel(ctx)
		cancel()
		_ = part.Receive(subCtx, b.Subscribe().Channel("c").Build(), func(rueidis.PubSubMessage) {})
		for _, err := range part.Scan(ctx, feature.ScanOptions{}) {
			if err != nil {
				t.Fatal(err)
			}
		}
	}

	off := newRig(t, "REDIS_URL="+srv.URL(), "REDIS_OTEL=off", "REDIS_SESSION_OTEL=on")
	everything(off.open(t, "session"))
	if n := len(off.spans.Ended()); n != 0 {
		t.Errorf("REDIS_OTEL=off, REDIS_SESSION_OTEL=on: %d spans", n)
	}
	if rm := off.collect(t); len(rm.ScopeMetrics) != 0 {
		t.Errorf("REDIS_OTEL=off, REDIS_SESSION_OTEL=on: metrics %+v", rm.ScopeMetrics)
	}

	for _, env := range [][]string{
		{"REDIS_SESSION_OTEL=off"},
		{"REDIS_SESSION_OTEL=off", "REDIS_SESSION_DB=1"}, // a connection of its own
	} {
		r := newRig(t, append([]string{"REDIS_URL=" + srv.URL()}, env...)...)
		session, release, err := feature.Part{Namespace: "session", HashTag: true}.Open(ctx, r.reg, r.base)
		if err != nil {
			t.Fatal(err)
		}
		everything(session)
		release()
		everything(r.open(t, "cache"))
		for _, s := range r.ended() {
			if s.Attrs["wireredis.part"] != "cache" {
				t.Errorf("%v: a span of the session part: %+v", env, s)
			}
		}
		for _, name := range []string{telemetry.OperationDuration, telemetry.CacheRequests, telemetry.Refused} {
			byAttrs := points(r.collect(t))[name]
			if len(byAttrs) == 0 {
				t.Errorf("%v: no %s of the cache part", env, name)
			}
			for a := range byAttrs {
				if !strings.Contains(a, "wireredis.part=cache") {
					t.Errorf("%v: %s of another part: %s", env, name, a)
				}
			}
		}
	}

	for _, v := range []string{"OFF", "false", "0", "no", " off"} {
		for _, name := range []string{"REDIS_OTEL", "REDIS_SESSION_OTEL"} {
			base, err := provider.LoadFrom([]string{"REDIS_URL=" + srv.URL(), name + "=" + v})
			if err == nil {
				_, err = feature.Part{Namespace: "session"}.Options(base)
			}
			if err == nil || !strings.Contains(err.Error(), name) {
				t.Errorf("%s=%q: %v; want an error naming %s", name, v, err, name)
			}
		}
	}
}

// memoryExporter is a metric exporter that counts its exports and keeps
// the points of the last one (flattened by points: the reader reuses what
// it exports).
type memoryExporter struct {
	exports atomic.Int64
	mu      sync.Mutex
	last    map[string]map[string]int64
}

// lastExport returns the points of the last export.
func (e *memoryExporter) lastExport() map[string]map[string]int64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.last
}

func (*memoryExporter) Temporality(k sdkmetric.InstrumentKind) metricdata.Temporality {
	return sdkmetric.DefaultTemporalitySelector(k)
}

func (*memoryExporter) Aggregation(k sdkmetric.InstrumentKind) sdkmetric.Aggregation {
	return sdkmetric.DefaultAggregationSelector(k)
}

func (e *memoryExporter) Export(_ context.Context, rm *metricdata.ResourceMetrics) error {
	pts := points(*rm)
	e.mu.Lock()
	e.last = pts
	e.mu.Unlock()
	e.exports.Add(1)
	return nil
}

func (*memoryExporter) ForceFlush(context.Context) error { return nil }
func (*memoryExporter) Shutdown(context.Context) error   { return nil }

// TestAttackLifecycle: parts opened, used and released by many goroutines
// at once, on a shared connection and on one of their own, while a
// periodic reader exports and another reader collects in a loop, and past
// the number of kinds of operation a part remembers (copied on write);
// the registry closed while the collecting goes on (promise 5). Under
// -race: no race; after the close: no goroutine left, and every command
// one span.
func TestAttackLifecycle(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	before := goleak.IgnoreCurrent()

	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans), sdktrace.WithBatcher(tracetest.NewNoopExporter()))
	exporter := &memoryExporter{}
	manual := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(manual), sdkmetric.WithReader(sdkmetric.NewPeriodicReader(exporter, sdkmetric.WithInterval(time.Millisecond))))
	base, err := provider.LoadFrom([]string{"REDIS_URL=" + srv.URL(), "REDIS_P1_DB=1", "REDIS_P3_BATCH=off"})
	if err != nil {
		t.Fatal(err)
	}
	reg, closeReg, err := telemetry.New(base, telemetry.Config{TracerProvider: tp, MeterProvider: mp, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}

	stop := make(chan struct{})
	collected := make(chan int)
	go func() {
		n := 0
		for {
			select {
			case <-stop:
				collected <- n
				return
			default:
			}
			var rm metricdata.ResourceMetrics
			if err := manual.Collect(ctx, &rm); err != nil {
				t.Error(err)
			}
			n++
		}
	}()

	// One part lives through it all: its kinds of operation pass the 512
	// it remembers, from every goroutine at once.
	hot, releaseHot, err := feature.Open(ctx, reg, base, "hot")
	if err != nil {
		t.Fatal(err)
	}
	const goroutines, rounds, each = 16, 4, 40
	var sent atomic.Int64
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ns := "p" + strconv.Itoa(g%4)
			for round := range rounds {
				part, release, err := feature.Open(ctx, reg, base, ns)
				if err != nil {
					t.Error(err)
					return
				}
				b := part.B()
				for i := range each {
					k := "k" + strconv.Itoa(i)
					switch i % 4 {
					case 0:
						_ = part.Do(ctx, b.Set().Key(k).Value("v").Build()).Error()
					case 1:
						for range part.DoMulti(ctx, b.Get().Key(k).Build(), b.Incr().Key(k).Build()) {
						}
					case 2:
						_ = part.DoCache(ctx, b.Get().Key(k).Cache(), time.Minute).Error()
					default:
						// A kind of operation per goroutine, round and
						// command: more than a part remembers (512).
						word := "E" + strconv.Itoa(g) + "_" + strconv.Itoa(round) + "_" + strconv.Itoa(i)
						_ = hot.Do(ctx, hot.B().Eval().Script("return redis.error_reply(ARGV[1])").Numkeys(0).Arg(word).Build()).Error()
					}
					sent.Add(1)
				}
				release()
			}
		}()
	}
	wg.Wait()
	releaseHot()
	closeReg()
	close(stop)
	if n := <-collected; n == 0 {
		t.Error("the collecting goroutine never collected")
	}
	if err := tp.Shutdown(ctx); err != nil {
		t.Error(err)
	}
	if err := mp.Shutdown(ctx); err != nil {
		t.Error(err)
	}
	if exporter.exports.Load() == 0 {
		t.Error("the periodic reader never exported")
	}
	if got := int64(len(spans.Ended())); got != sent.Load() {
		t.Errorf("%d spans for %d commands and batches", got, sent.Load())
	}
	var left error
	defer func() {
		if left != nil {
			t.Errorf("goroutines left: %v", left)
		}
	}()
	testsupport.WaitFor(t, 10*time.Second, "the goroutines to end after the close", func() bool {
		left = goleak.Find(before)
		return left == nil
	})
}

// TestAttackCluster: on a cluster, through a plain part and a hash-tag
// part: batches across slots, a cross-slot command (refused), the parts
// over each node (Nodes), a dedicated transaction, DoMultiCache across
// slots. No mark reaches the telemetry (promise 1), and the SETs and
// INCRs the spans say were sent are those the primaries ran (promise 2).
func TestAttackCluster(t *testing.T) {
	ctx := context.Background()
	cl := redistest.StartCluster(t, 3, 0)
	r := newRig(t, "REDIS_ADDRS="+strings.Join(cl.Addrs, ","))
	plain := r.open(t, "session")
	tagged, release, err := feature.Part{Namespace: "tagged", HashTag: true}.Open(ctx, r.reg, r.base)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	for _, addr := range cl.Primaries() {
		n := cl.Node(t, addr)
		if err := n.Do(ctx, n.B().ConfigResetstat().Build()).Error(); err != nil {
			t.Fatal(err)
		}
	}
	key := func(i int) string { return attackKey + "-" + strconv.Itoa(i) }
	val := strings.ToUpper(attackValue)
	for _, part := range []*feature.Client{plain, tagged} {
		b := part.B()
		for i := range 6 {
			_ = part.Do(ctx, b.Set().Key(key(i)).Value(val).Build()).Error()
		}
		for range part.DoMulti(ctx, b.Incr().Key(key(10)).Build(), b.Incr().Key(key(11)).Build(), b.Incr().Key(key(12)).Build()) {
		}
		_ = part.Do(ctx, b.Arbitrary(strings.ToUpper(key(1))).Build()).Error()
		for range part.DoMultiCache(ctx, rueidis.CT(b.Get().Key(key(1)).Cache(), time.Minute), rueidis.CT(b.Get().Key(key(2)).Cache(), time.Minute)) {
		}
		for _, node := range part.Nodes() {
			_ = node.Do(ctx, node.B().Set().Key(key(20)).Value(val).Build()).Error() // a MOVED for most nodes
		}
		if err := part.Dedicated(func(d rueidis.DedicatedClient) error {
			_ = d.Do(ctx, d.B().Watch().Key(key(30)).Build()).Error()
			for range d.DoMulti(ctx, d.B().Multi().Build(), d.B().Incr().Key(key(30)).Build(), d.B().Exec().Build()) {
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}

	for _, s := range r.ended() {
		if _, ok := s.Attrs["server.address"]; ok {
			t.Errorf("a span names a server on a cluster: %+v", s)
		}
	}
	spans := sentBySpans(r)
	spans["incr"] += 2 // in the two transactions' PIPELINEs
	calls := map[string]int64{}
	for _, addr := range cl.Primaries() {
		for cmd, n := range commandCalls(t, cl.Node(t, addr)) {
			calls[cmd] += n
		}
	}
	for _, cmd := range []string{"set", "incr"} {
		if calls[cmd] != spans[cmd] {
			t.Errorf("the primaries ran %s %d times, the spans say %d (spans %v)", cmd, calls[cmd], spans[cmd], spans)
		}
	}
	reportSecrets(t, r, attackKey, attackValue, "session:", "{tagged}:")
}

// sentBySpans counts the commands the spans say were sent, by lower-case
// name as INFO commandstats has them: the spans that succeeded, and those
// that failed with one of the classes sent (a BATCH X counts its size; a
// PIPELINE is left to the caller).
func sentBySpans(r *rig, sent ...string) map[string]int64 {
	out := map[string]int64{}
	for _, s := range r.ended() {
		if c := s.Attrs["error.type"]; c != "" && !slices.Contains(sent, c) {
			continue
		}
		name, n := s.Name, int64(1)
		if rest, ok := strings.CutPrefix(name, "BATCH "); ok {
			name = rest
			n, _ = strconv.ParseInt(s.Attrs["db.operation.batch.size"], 10, 64)
		}
		out[strings.ToLower(name)] += n
	}
	return out
}
