package normalize

import (
	"fmt"
	"math/rand"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/feedbackhub/feedbackhub/internal/procstat"
)

// Benchmarks for the index at 20k, 200k and 1M generated items and for the analyzer.
//
//	go test ./normalize -run '^$' -bench . -benchtime 2000x            # 20k and 200k
//	go test ./normalize -run '^$' -bench 'Index/1M' -benchtime 2000x   # 1M (a few minutes)
//
// -short skips the 1M case. Each iteration decides one new item (Query for 100
// candidates with explanations) and adds it; p50/p99 are reported in ms, and the
// heap after building (index and clusterer state) as heap_MB.

// docGen generates documents with Zipf-distributed vocabularies, similar in shape
// to bug reports: a short title, a body of prose, sometimes code and signatures.
type docGen struct {
	r                        *rand.Rand
	words, idents, sigs, big []string
	zw, zi, zs, zb           *rand.Zipf
	t0                       time.Time
	step                     time.Duration
	n                        int64
}

func newDocGen(seed int64, total int) *docGen {
	r := rand.New(rand.NewSource(seed))
	g := &docGen{r: r, t0: time.Date(2015, 1, 1, 0, 0, 0, 0, time.UTC)}
	// Items spread over five years, so a one-year window holds a fifth of them.
	g.step = 5 * 365 * 24 * time.Hour / time.Duration(total)
	mk := func(n int, f func(i int) string) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = f(i)
		}
		return out
	}
	g.words = mk(200000, func(i int) string { return fmt.Sprintf("w%x", i) })
	g.idents = mk(400000, func(i int) string { return fmt.Sprintf("pkg%d.cls%d", i%97, i) })
	g.sigs = mk(100000, func(i int) string { return fmt.Sprintf("frame:org.x.c%d.m", i) })
	g.big = mk(500000, func(i int) string { return fmt.Sprintf("w%x w%x", i%5000, i/5000) })
	g.zw = rand.NewZipf(r, 1.07, 1, uint64(len(g.words)-1))
	g.zi = rand.NewZipf(r, 1.1, 1, uint64(len(g.idents)-1))
	g.zs = rand.NewZipf(r, 1.2, 1, uint64(len(g.sigs)-1))
	g.zb = rand.NewZipf(r, 1.1, 1, uint64(len(g.big)-1))
	return g
}

func (g *docGen) next() Doc {
	g.n++
	// Like a stored item: a text hash and its own keys (an id and a URL), which the
	// clusterer keeps per item.
	d := Doc{ID: g.n, Time: g.t0.Add(time.Duration(g.n) * g.step), Hash: g.r.Uint64() | 1,
		Keys: []string{fmt.Sprintf("PRJ-%d", g.n), fmt.Sprintf("https://tracker.example/browse/PRJ-%d", g.n)}}
	pick := func(z *rand.Zipf, vocab []string, n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = vocab[z.Uint64()]
		}
		return out
	}
	d.Fields[FieldTitle] = pick(g.zw, g.words, 5+g.r.Intn(6))
	d.Fields[FieldBody] = append(pick(g.zw, g.words, 20+g.r.Intn(60)), pick(g.zi, g.idents, g.r.Intn(6))...)
	if g.r.Intn(4) == 0 {
		d.Fields[FieldCode] = pick(g.zi, g.idents, 10+g.r.Intn(60))
		d.Fields[FieldSig] = pick(g.zs, g.sigs, 1+g.r.Intn(4))
	}
	d.Fields[FieldFacet] = []string{"project:p" + fmt.Sprint(g.r.Intn(8))}
	d.Fields[FieldBigram] = pick(g.zb, g.big, 4+g.r.Intn(5))
	return d
}

func benchIndex(b *testing.B, n int) {
	g := newDocGen(1, n+b.N+1)
	ix := NewIndex(DefaultIndexOptions())
	c := NewClusterer(ix, DefaultClusterOptions())
	// Built as a start-up builds it: every item restored into a cluster (one per
	// ten items), so the heap and RSS include the clusterer's per-item state.
	start := time.Now()
	for i := 0; i < n; i++ {
		d := g.next()
		c.Restore(d, 1+(d.ID-1)/10)
	}
	build := time.Since(start)
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	lat := make([]float64, 0, b.N)
	cpu := make([]float64, 0, b.N)
	// Wall-clock latency depends on what else the machine runs; the thread's CPU
	// time per item (the goroutine stays on one OS thread) is the service time on a
	// free core, reported next to it.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		d := g.next()
		c0 := procstat.ThreadCPU()
		t0 := time.Now()
		c.Process(d)
		lat = append(lat, float64(time.Since(t0).Nanoseconds())/1e6)
		cpu = append(cpu, float64(procstat.ThreadCPU()-c0)/1e6)
	}
	b.StopTimer()
	sort.Float64s(lat)
	sort.Float64s(cpu)
	b.ReportMetric(lat[len(lat)/2], "p50_ms")
	b.ReportMetric(lat[min(len(lat)-1, len(lat)*99/100)], "p99_ms")
	if cpu[len(cpu)-1] > 0 {
		b.ReportMetric(cpu[len(cpu)/2], "cpu_p50_ms")
		b.ReportMetric(cpu[min(len(cpu)-1, len(cpu)*99/100)], "cpu_p99_ms")
	}
	b.ReportMetric(float64(n)/build.Seconds(), "build_items/s")
	b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "heap_MB")
	if rss := procstat.PeakRSSMB(); rss > 0 {
		b.ReportMetric(rss, "peak_RSS_MB")
	}
}

func BenchmarkIndex(b *testing.B) {
	for _, n := range []struct {
		name string
		n    int
	}{{"20k", 20000}, {"200k", 200000}, {"1M", 1000000}} {
		b.Run(n.name, func(b *testing.B) {
			if n.n >= 1000000 && testing.Short() {
				b.Skip("1M items: run without -short")
			}
			benchIndex(b, n.n)
		})
	}
}

const benchBody = `h2. Problem
When the *NameNode* restarts with {{dfs.namenode.name.dir}} on NFS, the secondary fails to checkpoint. See [HDFS-1234|https://issues.example.org/browse/HDFS-1234].
{code}
2014-01-02 12:00:00,123 ERROR org.apache.hadoop.hdfs.server.namenode.SecondaryNameNode: Exception in doCheckpoint
java.io.IOException: Inconsistent checkpoint fields
	at org.apache.hadoop.hdfs.server.namenode.CheckpointSignature.validateStorageInfo(CheckpointSignature.java:133)
	at org.apache.hadoop.hdfs.server.namenode.SecondaryNameNode.doCheckpoint(SecondaryNameNode.java:526)
	at java.lang.Thread.run(Thread.java:745)
{code}
Happens on version 2.7.3 with HTTP 503 from nn1.example.com:50070. Expected the checkpoint to succeed.`

// BenchmarkAnalyze measures cleaning, tokenizing and evidence extraction of one
// typical report (about 900 bytes with a stack trace).
func BenchmarkAnalyze(b *testing.B) {
	an := NewAnalyzer(AnalyzerOptions{Refs: RefOptions{JiraProjects: []string{"HDFS"}}, Tokenizer: TokenizerOptions{Stem: StemLight}})
	in := Input{ID: 1, Time: time.Now(), Title: "SecondaryNameNode fails to checkpoint: Inconsistent checkpoint fields", Body: benchBody}
	b.SetBytes(int64(len(in.Title) + len(in.Body)))
	for i := 0; i < b.N; i++ {
		_ = an.Analyze(in)
	}
}

// BenchmarkTokenize measures the tokenizer alone on prose with identifiers.
func BenchmarkTokenize(b *testing.B) {
	text := strings.Repeat("The DataNode getBlockLocations call for dfs.replication fails with snake_case_ids. ", 10)
	b.SetBytes(int64(len(text)))
	for i := 0; i < b.N; i++ {
		_ = Tokenize(text, TokenizerOptions{Stem: StemLight})
	}
}

// BenchmarkBigCluster restores one cluster of 20,000 items in time order, as a
// start-up does, then merges a cluster of 2,000 into it member by member, as a
// triager's merge does: both must stay near linear in the cluster size (each join
// and leave of the index's activity group is O(1) unless the newest item leaves).
//
//	go test ./normalize -run '^$' -bench BigCluster -benchtime 5x
func BenchmarkBigCluster(b *testing.B) {
	t0 := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	doc := func(id int64) Doc {
		var d Doc
		d.ID, d.Time = id, t0.Add(time.Duration(id)*time.Minute)
		d.Fields[FieldTitle] = []string{"crash", fmt.Sprintf("w%d", id%500)}
		return d
	}
	const big, small = 20000, 2000
	var restore, merge time.Duration
	for i := 0; i < b.N; i++ {
		c := NewClusterer(NewIndex(DefaultIndexOptions()), DefaultClusterOptions())
		start := time.Now()
		for id := int64(1); id <= big; id++ {
			c.Restore(doc(id), 1)
		}
		restore += time.Since(start)
		for id := int64(big + 1); id <= big+small; id++ {
			c.Restore(doc(id), 2)
		}
		start = time.Now()
		for _, m := range c.Members(2) {
			c.Assign(m, 1)
		}
		merge += time.Since(start)
	}
	b.ReportMetric(float64(restore.Milliseconds())/float64(b.N), "restore_20k_ms")
	b.ReportMetric(float64(merge.Milliseconds())/float64(b.N), "merge_2k_ms")
}
