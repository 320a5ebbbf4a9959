package file

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/feedbackhub/feedbackhub/feedback"
	"github.com/feedbackhub/feedbackhub/store"
)

// writeMbox generates an mbox of n messages: threads of four (a question and three
// replies quoting it, with In-Reply-To/References), signatures, one auto-reply in 50.
func writeMbox(tb testing.TB, path string, n int) int64 {
	tb.Helper()
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	w := bufio.NewWriter(f)
	for i := 0; i < n; i++ {
		root := i - i%4
		fmt.Fprintf(w, "From sender%d@partner%d.example Tue Mar  1 18:%02d:00 2011\n", i, i%7, i%60)
		fmt.Fprintf(w, "From: Person %d <person%d@partner%d.example>\n", i, i, i%7)
		fmt.Fprintf(w, "To: support@feedbackhub.example\nSubject: Re: Deploy problem %d\n", root)
		fmt.Fprintf(w, "Date: Tue, 01 Mar 2011 18:%02d:%02d +0530\nMessage-ID: <m%d@partner%d.example>\n", i%60, i%60, i, i%7)
		if i != root {
			fmt.Fprintf(w, "In-Reply-To: <m%d@partner%d.example>\nReferences: <m%d@partner%d.example>\n", i-1, (i-1)%7, root, root%7)
		}
		if i%50 == 49 {
			fmt.Fprintf(w, "Auto-Submitted: auto-replied\n")
		}
		fmt.Fprintf(w, "MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\n")
		fmt.Fprintf(w, "Hello,\n\nThe deploy of build %d hangs at 90%% on the eu-west cluster since this morning.\n", i)
		fmt.Fprintf(w, "We retried twice; the logs show a timeout talking to the registry.\n\n")
		if i != root {
			fmt.Fprintf(w, "On Tue, Mar 1, 2011 at 18:00, Person %d <person%d@partner%d.example> wrote:\n", i-1, i-1, (i-1)%7)
			for j := 0; j < 8; j++ {
				fmt.Fprintf(w, "> quoted line %d of the previous message, which nobody needs to read again\n", j)
			}
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "-- \nPerson %d\nSRE, Partner %d\n\n", i, i%7)
	}
	if err := w.Flush(); err != nil {
		tb.Fatal(err)
	}
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
	fi, _ := os.Stat(path)
	return fi.Size()
}

// BenchmarkImportMbox10k imports a generated 10,000-message mbox and reports messages
// per second: parsing, visible text and threading through mailparse, with an
// in-memory ingest and with the real SQLite store.
//
//	go test ./connectors/file -run '^$' -bench ImportMbox10k -benchtime 3x
func BenchmarkImportMbox10k(b *testing.B) {
	const n = 10000
	path := filepath.Join(b.TempDir(), "bench.mbox")
	size := writeMbox(b, path, n)
	ctx := context.Background()
	src := source(FormatMbox, path)

	b.Run("memory", func(b *testing.B) {
		b.SetBytes(size)
		for i := 0; i < b.N; i++ {
			st := newMemStore()
			sum, err := Import(ctx, src, testEnv(), []string{path}, io.Discard, st.ingest)
			if err != nil {
				b.Fatal(err)
			}
			if sum.Read != n || sum.New != n {
				b.Fatalf("summary %+v", sum)
			}
		}
		b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "msgs/s")
	})
	b.Run("sqlite", func(b *testing.B) {
		b.SetBytes(size)
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			dir := b.TempDir()
			s, err := store.Open(ctx, "sqlite:"+filepath.Join(dir, "bench.db"), dir)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := s.MigrateUp(ctx); err != nil {
				b.Fatal(err)
			}
			ingest := func(ctx context.Context, recs []feedback.Record) (int, int, error) {
				res, err := s.Ingest(ctx, src.Name, recs, nil)
				return res.New, res.Duplicate, err
			}
			b.StartTimer()
			sum, err := Import(ctx, src, testEnv(), []string{path}, io.Discard, ingest)
			if err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			if sum.Read != n || sum.New != n {
				b.Fatalf("summary %+v", sum)
			}
			s.Close()
			b.StartTimer()
		}
		b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "msgs/s")
	})
}

// TestGeneratedMboxImports keeps the benchmark input honest: every message is read,
// replies thread, auto-replies are quarantined, quotes are stripped.
func TestGeneratedMboxImports(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "gen.mbox")
	writeMbox(t, path, 200)
	res := doImport(t, nil, FormatMbox, path)
	if res.sum.Read != 200 || res.sum.New != 200 || res.sum.Quarantined != 4 {
		t.Fatalf("summary %+v", res.sum)
	}
	r := res.store.byID("<m5@partner5.example>")
	if len(r) != 1 || !contains(r[0].ThreadRefs, "<m4@partner4.example>") || strings.Contains(r[0].Body, "quoted line") {
		t.Fatalf("m5 = %+v", r)
	}
	for _, rec := range res.store.all() {
		if rec.Quarantine == "" && (len(rec.Body) == 0 || strings.Contains(rec.Body, "quoted line") || strings.Contains(rec.Body, "SRE, Partner")) {
			t.Fatalf("%s body not cleaned: %q", rec.ExternalID, rec.Body)
		}
	}
}
