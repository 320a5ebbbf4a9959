package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/feedbackhub/feedbackhub/feedback"
	"github.com/feedbackhub/feedbackhub/pipeline"
	"github.com/feedbackhub/feedbackhub/store"
	"github.com/feedbackhub/feedbackhub/triage"
)

// printStep writes one line about what the loop did after intake.
func printStep(w io.Writer, s pipeline.StepReport) {
	linked := 0
	for _, n := range s.Cluster.Linked {
		linked += n
	}
	fmt.Fprintf(w, "items: %d new, %d updated, %d replies/comments, %d quarantined; clustered %d (%d new clusters, %d linked %v, %d with suggestions); %d rule decisions; %d SLA clocks started\n",
		s.Process.Items, s.Process.Updated, s.Process.Messages, s.Process.Quarantined, s.Cluster.Items, s.Cluster.NewClusters,
		linked, s.Cluster.Linked, s.Cluster.Suggested, s.Clusters.Decisions, s.SLA)
}

func (a *app) syncCmd() *cobra.Command {
	var once, dryRun bool
	var source string
	cmd := &cobra.Command{
		Use:   "sync --once [--source NAME]",
		Short: "Poll the configured sources once and store what changed",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !once {
				return fmt.Errorf("sync runs once per call: pass --once (continuous polling is `feedbackhub serve`)")
			}
			ctx := cmd.Context()
			p, err := a.pipeline(ctx)
			if err != nil {
				return err
			}
			if len(p.Config.Sources) == 0 {
				fmt.Fprintln(a.out, "no sources configured (see `sources:` in the config)")
				return a.drainOutbox(cmd, dryRun)
			}
			started := a.clock.Now()
			reports, err := p.SyncOnce(ctx, source)
			for _, r := range reports {
				fmt.Fprintln(a.out, r.Line())
				// `status` shows these polls like the ones serve runs.
				if perr := p.Store.RecordPoll(ctx, store.Poll{Source: r.Source, StartedAt: started, FinishedAt: a.clock.Now(), Err: r.Err,
					Requests: r.Stats.Requests, NotModified: r.Stats.NotModified, Fetched: r.Stats.Fetched, New: r.New, Waited: r.Stats.Waited}); perr != nil {
					a.logger.Warn("could not record the poll", "source", r.Source, "err", perr)
				}
			}
			engine, eerr := triage.NewEngine(a.cfg.SLA, a.cfg.Dir())
			if eerr != nil {
				return errors.Join(err, eerr)
			}
			step, serr := p.Step(ctx, engine)
			if serr == nil {
				printStep(a.out, step)
			}
			derr := a.drainOutbox(cmd, dryRun)
			return errors.Join(err, serr, derr)
		},
	}
	cmd.Flags().BoolVar(&once, "once", false, "poll each source once and exit")
	cmd.Flags().StringVar(&source, "source", "", "only this source")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "print the tickets the outbox would create instead of creating them")
	return cmd
}

func (a *app) itemsCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "items", Short: "List and inspect feedback items"}
	var asJSON bool
	var source string
	var limit int
	list := &cobra.Command{
		Use:   "list",
		Short: "List items",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			st, err := a.openStore(ctx, true)
			if err != nil {
				return err
			}
			items, err := st.Items(ctx, store.ItemFilter{Source: source, Limit: limit})
			if err != nil {
				return err
			}
			if asJSON {
				if items == nil {
					items = []feedback.Item{}
				}
				enc := json.NewEncoder(a.out)
				enc.SetIndent("", "  ")
				return enc.Encode(items)
			}
			tw := tabwriter.NewWriter(a.out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tSOURCE\tKIND\tPARTNER\tCATEGORY\tSEVERITY\tSTATUS\tTITLE")
			for _, it := range items {
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", it.ID, it.Source, it.Kind, it.Partner, dash(string(it.Category)), dash(string(it.Severity)), it.Status, truncate(it.Title, 60))
			}
			return tw.Flush()
		},
	}
	list.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	list.Flags().StringVar(&source, "source", "", "only items of this source")
	list.Flags().IntVar(&limit, "limit", 1000, "at most this many items")
	cmd.AddCommand(list)
	return cmd
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
