package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/feedbackhub/feedbackhub/config"
	"github.com/feedbackhub/feedbackhub/configs"
	"github.com/feedbackhub/feedbackhub/connectors"
	"github.com/feedbackhub/feedbackhub/connectors/file"
	"github.com/feedbackhub/feedbackhub/feedback"
	"github.com/feedbackhub/feedbackhub/pipeline"
	"github.com/feedbackhub/feedbackhub/store"
	fhsync "github.com/feedbackhub/feedbackhub/sync"
	"github.com/feedbackhub/feedbackhub/triage"
)

// pilotReviewer is the actor of the simulated review's decisions.
const pilotReviewer = "pilot-reviewer"

func (a *app) pilotCmd() *cobra.Command {
	var out string
	var live bool
	var review float64
	cmd := &cobra.Command{
		Use:   "pilot [--out DIR] [--live]",
		Short: "Run the whole loop on the bundled pilot data (or, with --live, on the configured sources)",
		Long: `pilot imports the bundled pilot exports (partner emails as mbox, a GitHub issues
export, a Jira export and partner webhook events) into an embedded SQLite database in
--out, then normalizes, classifies with the starter rules, clusters, starts SLAs,
simulates a review (a triager who confirms the clusterer's top suggestion when it is
similar enough, and the rules' auto-accepts), syncs in dry-run (prints the tickets it
would create), writes the digest (Markdown and HTML) and a decision-log export, and
prints the clustering and category accuracy against the bundled ground truth. A
second run is idempotent. --live runs the same loop against feedbackhub.yaml.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			start := time.Now()
			if err := os.MkdirAll(out, 0o755); err != nil {
				return err
			}
			var truth []pipeline.TruthItem
			var ghKeys map[string]string
			if live {
				if _, err := a.config(); err != nil {
					return err
				}
			} else {
				var err error
				if truth, ghKeys, err = a.setupPilot(out); err != nil {
					return err
				}
			}
			p, err := a.pipeline(ctx)
			if err != nil {
				return err
			}
			engine, err := triage.NewEngine(a.cfg.SLA, a.cfg.Dir())
			if err != nil {
				return err
			}
			fmt.Fprintf(a.out, "== intake (%s)\n", a.cfg.Database.URL)
			if live {
				reps, err := p.SyncOnce(ctx, "")
				for _, r := range reps {
					fmt.Fprintln(a.out, r.Line())
				}
				if err != nil {
					fmt.Fprintf(a.errOut, "some sources failed: %v\n", err)
				}
			} else if err := a.importPilot(ctx, p); err != nil {
				return err
			}
			fmt.Fprintln(a.out, "== normalize, classify, cluster, SLA")
			step, err := p.Step(ctx, engine)
			if err != nil {
				return err
			}
			printStep(a.out, step)
			svc := &triage.Service{Clusters: p.Store, Decisions: p.Store, SLA: p.Store, Engine: engine, Clock: a.clock}
			fmt.Fprintln(a.out, "== review")
			before := (pipeline.Score{})
			if !live {
				if before, err = p.ScoreTruth(ctx, truth, pilotKey(ghKeys)); err != nil {
					return err
				}
				rr, err := p.ReviewSuggestions(ctx, svc, pilotReviewer, review)
				if err != nil {
					return err
				}
				fmt.Fprintf(a.out, "simulated triager merged %d clusters into their top suggestion (similarity ≥ %.2f)\n", rr.Merged, review)
				// Merged clusters get their rules and SLAs recomputed; the auto-accepts
				// are the ones the rules ask for after the review.
				if step, err = p.Step(ctx, engine); err != nil {
					return err
				}
			}
			syncer, err := fhsync.New(a.cfg, p.Store, connectors.Env{Config: a.cfg, Clock: a.clock, Logger: a.logger, Redactor: a.redactor}, engine)
			if err != nil {
				return err
			}
			accepted := 0
			for _, aa := range step.AutoAccept {
				c, err := p.Store.Cluster(ctx, aa.ClusterID)
				if err != nil || c.Status != feedback.StatusNew {
					continue
				}
				if _, err := syncer.Accept(ctx, aa.ClusterID, aa.Actor, "auto-accept by rule "+aa.Rule); err != nil {
					fmt.Fprintf(a.errOut, "auto-accept cluster %d: %v\n", aa.ClusterID, err)
					continue
				}
				accepted++
			}
			fmt.Fprintf(a.out, "rules auto-accepted %d clusters\n", accepted)
			fmt.Fprintln(a.out, "== sync (dry run: nothing is sent)")
			plan, err := syncer.Plan(ctx)
			if err != nil {
				return err
			}
			printPlanned(a.out, plan)
			fmt.Fprintf(a.out, "%d tickets would be created\n", len(plan))

			fmt.Fprintln(a.out, "== review outputs")
			data, err := p.BuildDigest(ctx, engine, 7*24*time.Hour, a.clock.Now())
			if err != nil {
				return err
			}
			for _, f := range []struct{ name, format string }{{"digest.md", "md"}, {"digest.html", "html"}} {
				if err := writeFileWith(filepath.Join(out, f.name), func(w io.Writer) error { return triage.Render(w, data, f.format) }); err != nil {
					return err
				}
			}
			ds, err := p.Store.Decisions(ctx, store.DecisionFilter{})
			if err != nil {
				return err
			}
			if err := writeFileWith(filepath.Join(out, "decisions.md"), func(w io.Writer) error { return triage.WriteDecisions(w, ds, "md") }); err != nil {
				return err
			}
			fmt.Fprintf(a.out, "wrote %s, %s, %s (%d decisions)\n", filepath.Join(out, "digest.md"), filepath.Join(out, "digest.html"), filepath.Join(out, "decisions.md"), len(ds))
			if !live {
				after, err := p.ScoreTruth(ctx, truth, pilotKey(ghKeys))
				if err != nil {
					return err
				}
				fmt.Fprintln(a.out, "== accuracy against configs/pilot/ground-truth.json")
				printScore(a.out, "automatic clustering", before)
				printScore(a.out, "after simulated review", after)
			}
			fmt.Fprintf(a.out, "done in %s; explore with: feedbackhub --config %s clusters list\n", time.Since(start).Round(time.Millisecond), a.configPathForHint(out, live))
			return nil
		},
	}
	cmd.Flags().StringVar(&out, "out", "pilot-out", "folder for the database, digest and decision export")
	cmd.Flags().BoolVar(&live, "live", false, "run against the sources in the config instead of the bundled data")
	cmd.Flags().Float64Var(&review, "review-threshold", 0.4, "the simulated triager confirms suggestions at least this similar")
	return cmd
}

func (a *app) configPathForHint(out string, live bool) string {
	if live {
		p, _ := a.configFile()
		return p
	}
	return filepath.Join(out, "data", "pilot.yaml")
}

// setupPilot writes the bundled pilot files into out/data and loads its config with
// the database in out and the starter rules, returning the ground truth and the
// GitHub export's issue id → stored key map.
func (a *app) setupPilot(out string) ([]pipeline.TruthItem, map[string]string, error) {
	dataDir, err := filepath.Abs(filepath.Join(out, "data"))
	if err != nil {
		return nil, nil, err
	}
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return nil, nil, err
	}
	err = fs.WalkDir(configs.FS, configs.PilotDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := configs.FS.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dataDir, path.Base(p)), b, 0o644)
	})
	if err != nil {
		return nil, nil, fmt.Errorf("pilot data: %w", err)
	}
	rules, err := configs.FS.ReadFile(configs.StarterRules)
	if err != nil {
		return nil, nil, err
	}
	if err := os.WriteFile(filepath.Join(dataDir, "rules.yaml"), rules, 0o644); err != nil {
		return nil, nil, err
	}
	raw, err := os.ReadFile(filepath.Join(dataDir, "pilot.yaml"))
	if err != nil {
		return nil, nil, err
	}
	raw = append([]byte("rules: rules.yaml\n"), raw...)
	raw = append(raw, pilotSyncYAML...)
	// The copy points at the pilot's database, so other commands can explore it.
	raw = []byte(strings.Replace(string(raw), "url: sqlite:pilot.db", "url: sqlite:../pilot.db", 1))
	if err := os.WriteFile(filepath.Join(dataDir, "pilot.yaml"), raw, 0o644); err != nil {
		return nil, nil, err
	}
	cfg, err := config.Parse(filepath.Join(dataDir, "pilot.yaml"), dataDir, raw)
	if err != nil {
		return nil, nil, err
	}
	dbPath, err := filepath.Abs(filepath.Join(out, "pilot.db"))
	if err != nil {
		return nil, nil, err
	}
	cfg.Database.URL = "sqlite:" + dbPath
	a.cfg = cfg

	var gt struct {
		Items []pipeline.TruthItem `json:"items"`
	}
	b, err := os.ReadFile(filepath.Join(dataDir, "ground-truth.json"))
	if err != nil {
		return nil, nil, err
	}
	if err := json.Unmarshal(b, &gt); err != nil {
		return nil, nil, fmt.Errorf("ground-truth.json: %w", err)
	}
	var issues []struct {
		ID      int64  `json:"id"`
		Number  int    `json:"number"`
		HTMLURL string `json:"html_url"`
	}
	b, err = os.ReadFile(filepath.Join(dataDir, "github-issues.json"))
	if err != nil {
		return nil, nil, err
	}
	if err := json.Unmarshal(b, &issues); err != nil {
		return nil, nil, fmt.Errorf("github-issues.json: %w", err)
	}
	gh := map[string]string{}
	for _, is := range issues {
		// html_url https://github.com/OWNER/REPO/issues/N → owner/repo#N, as stored.
		parts := strings.Split(strings.TrimPrefix(is.HTMLURL, "https://github.com/"), "/")
		if len(parts) >= 2 {
			gh[strconv.FormatInt(is.ID, 10)] = strings.ToLower(parts[0]+"/"+parts[1]) + "#" + strconv.Itoa(is.Number)
		}
	}
	return gt.Items, gh, nil
}

// importPilot imports every file source of the pilot config.
func (a *app) importPilot(ctx context.Context, p *pipeline.Pipeline) error {
	env := connectors.Env{Config: a.cfg, Clock: a.clock, Logger: a.logger, Redactor: a.redactor}
	for _, src := range a.cfg.Sources {
		if src.Kind != config.KindFile {
			continue
		}
		var paths []string
		for _, fp := range src.File.Paths {
			paths = append(paths, a.cfg.Path(fp))
		}
		ingest := func(ctx context.Context, recs []feedback.Record) (int, int, error) {
			r, err := p.Store.Ingest(ctx, src.Name, recs, nil)
			return r.New, r.Duplicate, err
		}
		fmt.Fprintf(a.out, "%-9s ", src.Name)
		if _, err := file.Import(ctx, src, env, paths, a.out, ingest); err != nil {
			return fmt.Errorf("import %s: %w", src.Name, err)
		}
	}
	return nil
}

// pilotKey maps a ground-truth entry to how the item is stored.
func pilotKey(gh map[string]string) func(pipeline.TruthItem) (string, string) {
	return func(t pipeline.TruthItem) (string, string) {
		switch t.Source {
		case "github":
			return t.Source, gh[t.ExternalID]
		case "partners":
			return t.Source, t.Partner + ":" + t.ExternalID
		}
		return t.Source, t.ExternalID
	}
}

func printScore(w io.Writer, label string, s pipeline.Score) {
	fmt.Fprintf(w, "%s: %d items (%d missing), %d clusters for %d true clusters; pairwise P %.2f R %.2f F1 %.2f; B-cubed P %.2f R %.2f F1 %.2f; category %.0f%% (item rules) / %.0f%% (cluster); partner attribution %.0f%%\n",
		label, s.Items, s.Missing, s.Clusters, s.TrueClusters, s.PairP, s.PairR, s.PairF1, s.BCubedP, s.BCubedR, s.BF1,
		100*s.ItemCategory, 100*s.ClusterCategory, 100*s.Partner)
}

func writeFileWith(name string, fn func(io.Writer) error) error {
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	if err := fn(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// pilotSyncYAML is the pilot's ticket target, written into the copy of its config so
// that other commands on that copy (sync --once, serve) see the same target: a
// plan-only Jira project, so nothing is ever sent and queued tickets stay pending;
// cluster severities map to Jira's default priority scheme.
const pilotSyncYAML = `
# Added by feedbackhub pilot: a plan-only ticket target (dry_run: nothing is sent).
sync:
  targets:
    - name: jira
      kind: jira
      project: FB
      issue_type: Bug
      labels: [feedbackhub]
      priorities: {critical: Highest, high: High, medium: Medium, low: Low}
      dry_run: true
  defaults:
    "*": jira
`
