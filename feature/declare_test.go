package feature_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/wireredis/wireredis/feature"
	"github.com/wireredis/wireredis/internal/testsupport"
	"github.com/wireredis/wireredis/provider"
	"github.com/wireredis/wireredis/redistest"
	"github.com/wireredis/wireredis/registry"
)

// queuePart is declared as wireredis gen declares its parts: a Go name
// (Queue) other than its namespace (jobs). reportsPart is a part of the
// program's own, declared as docs/configuration.md says.
var (
	queuePart   = feature.Declare("Queue", feature.Part{Namespace: "jobs", HashTag: true})
	reportsPart = feature.Declare("Reports", feature.Part{Namespace: "reports"})
)

// TestMisnamedPartVariablesAreWarned: the program knows its parts, so a
// variable named after a part's Go name (REDIS_QUEUE_DB, whose part reads
// REDIS_JOBS_*) is warned about at start-up, once, through the registry's
// logger, with the variable meant and never its value; a misspelt one
// (REDIS_QUEUE_DBB) points at the part's variable, not at another ignored
// one. The part's database is not changed by them. A declared part opened
// later is known from the start; one not declared is warned about when
// the first part opens (with how to declare it).
func TestMisnamedPartVariablesAreWarned(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	base, err := provider.LoadFrom([]string{"REDIS_URL=" + srv.URL(),
		"REDIS_QUEUE_DB=3", "REDIS_QUEUE_DBB=3", "REDIS_QUEUE_PASSWORD=hunter2-misnamed",
		"REDIS_REPORTS_DB=1", "REDIS_AUDIT_DB=2", "REDIS_JOBS_CLIENT_NAME=jobs-conn"})
	if err != nil {
		t.Fatal(err)
	}
	logs := &testsupport.Buffer{}
	reg, closeAll := registry.New(slog.New(slog.NewTextHandler(logs, nil)))
	defer closeAll()
	for _, open := range []func() (*feature.Client, func(), error){
		func() (*feature.Client, func(), error) { return queuePart.Open(ctx, reg, base) },
		func() (*feature.Client, func(), error) { return reportsPart.Open(ctx, reg, base) },
		func() (*feature.Client, func(), error) { return feature.Part{Namespace: "audit"}.Open(ctx, reg, base) },
		func() (*feature.Client, func(), error) {
			s, release, err := feature.ProvideSessionRedis(ctx, reg, base)
			return s.Client, release, err
		},
	} {
		_, release, err := open()
		if err != nil {
			t.Fatal(err)
		}
		defer release()
	}
	// Other tests of this binary open parts too, and a part that opened
	// is known: the list of parts is not checked whole.
	text := logs.String()
	for _, want := range []string{
		`problem="REDIS_QUEUE_DB: names no part of this service (cache, `,
		`); did you mean REDIS_JOBS_DB? (the part Queue has the namespace jobs: its variables are REDIS_JOBS_*, not REDIS_QUEUE_*)"`,
		`problem="REDIS_QUEUE_DBB: is not a wireredis variable; did you mean REDIS_JOBS_DB? (the part Queue has the namespace jobs: its variables are REDIS_JOBS_*, not REDIS_QUEUE_*)"`,
		`problem="REDIS_QUEUE_PASSWORD: names no part of this service (cache, `,
		`); did you mean REDIS_JOBS_PASSWORD? (the part Queue has the namespace jobs: its variables are REDIS_JOBS_*, not REDIS_QUEUE_*)"`,
		`problem="REDIS_AUDIT_DB: names no part of this service (cache, `,
		`); a part that hand-written code opens later is known from the start once declared (feature.Declare)"`,
	} {
		if n := strings.Count(text, want); n != 1 {
			t.Errorf("the log has %q %d times, want once:\n%s", want, n, text)
		}
	}
	for _, line := range strings.Split(text, "\n") {
		if strings.Contains(line, "names no part of this service") && (!strings.Contains(line, " jobs, ") || !strings.Contains(line, " reports, ") || !strings.Contains(line, " session")) {
			t.Errorf("the known parts should include jobs, reports and session: %s", line)
		}
	}
	for _, not := range []string{"hunter2-misnamed", "REDIS_REPORTS_DB", "REDIS_JOBS_CLIENT_NAME", "did you mean REDIS_QUEUE_DB"} {
		if strings.Contains(text, not) {
			t.Errorf("the log should not have %q:\n%s", not, text)
		}
	}
	if strings.Count(text, "level=WARN") != 4 {
		t.Errorf("want 4 warnings:\n%s", text)
	}
	// The misnamed DB changed nothing: the part writes to database 0.
	queue, release, err := queuePart.Open(ctx, reg, base)
	if err == nil {
		defer release()
		err = queue.Do(ctx, queue.B().Set().Key("k").Value("v").Build()).Error()
	}
	if err != nil {
		t.Fatal(err)
	}
	if n, err := srv.Client.Do(ctx, srv.Client.B().Exists().Key("{jobs}:k").Build()).AsInt64(); err != nil || n != 1 {
		t.Errorf("{jobs}:k in database 0: %d, %v", n, err)
	}
}
