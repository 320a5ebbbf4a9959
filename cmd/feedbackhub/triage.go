package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/feedbackhub/feedbackhub/config"
	"github.com/feedbackhub/feedbackhub/feedback"
	"github.com/feedbackhub/feedbackhub/store"
	"github.com/feedbackhub/feedbackhub/triage"
)

// defaultActor is the OS user, for decisions taken at this terminal.
func defaultActor() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	if v := os.Getenv("USER"); v != "" {
		return v
	}
	return "unknown-user"
}

func (a *app) triageService(cmdCtx *cobra.Command) (*triage.Service, error) {
	ctx := cmdCtx.Context()
	st, err := a.openStore(ctx, true)
	if err != nil {
		return nil, err
	}
	engine, err := triage.NewEngine(a.cfg.SLA, a.cfg.Dir())
	if err != nil {
		return nil, err
	}
	return &triage.Service{Clusters: st, Decisions: st, SLA: st, Engine: engine, Clock: a.clock}, nil
}

func (a *app) decideCmd() *cobra.Command {
	var reason, actor, value string
	var asJSON bool
	actions := make([]string, len(triage.Actions))
	for i, x := range triage.Actions {
		actions[i] = string(x)
	}
	cmd := &cobra.Command{
		Use:   "decide ACTION TARGET… --reason \"…\" [--value V] [--actor NAME]",
		Short: "Record a triage decision (accept, decline, defer, merge, unmerge, severity, assign, escalate, ack, reopen, note)",
		Long: `Decide applies one action to each target (cluster:ID, or item:ID for unmerging one
item) and appends it to the decision log. People must give a reason. Actions that
need an argument take --value: severity (low|medium|high|critical), assign and
escalate (who), merge (the surviving cluster), status (a cluster status).`,
		Args:      cobra.MinimumNArgs(2),
		ValidArgs: actions,
		RunE: func(cmd *cobra.Command, args []string) error {
			svc, err := a.triageService(cmd)
			if err != nil {
				return err
			}
			p, err := a.pipeline(cmd.Context())
			if err != nil {
				return err
			}
			if actor == "" {
				actor = defaultActor()
			}
			var errs []error
			var changes []triage.Change
			for _, target := range args[1:] {
				var ch triage.Change
				var err error
				if feedback.Action(args[0]) == feedback.ActionAccept && len(a.cfg.Sync.Targets) > 0 {
					// Accepting writes the decision and the ticket's outbox row in one
					// transaction; `sync --once` (or serve) delivers it.
					ch, err = a.accept(cmd, target, actor, reason)
				} else {
					ch, err = p.Decide(cmd.Context(), svc, triage.Request{Action: feedback.Action(args[0]), Target: target, Value: value, Reason: reason, Actor: actor})
				}
				if err != nil {
					errs = append(errs, err)
					continue
				}
				changes = append(changes, ch)
				if !asJSON {
					fmt.Fprintf(a.out, "%s %s: %s → %s (decision %d)\n", ch.Decision.Action, ch.Decision.Target, dash(ch.Decision.Before), dash(ch.Decision.After), ch.Decision.ID)
				}
			}
			if asJSON {
				if err := writeJSON(a.out, changes); err != nil {
					return err
				}
			}
			return errors.Join(errs...)
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why (required for people)")
	cmd.Flags().StringVar(&actor, "actor", "", "who decides (default: the OS user)")
	cmd.Flags().StringVar(&value, "value", "", "the action's argument (severity, assignee, surviving cluster, status)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the changes as JSON")
	return cmd
}

func (a *app) decisionsCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "decisions", Short: "Read the append-only decision log"}
	var since string
	var asJSON bool
	var target string
	list := &cobra.Command{
		Use:   "list [--since 7d] [--json]",
		Short: "List decisions",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ds, err := a.decisions(cmd, since, target)
			if err != nil {
				return err
			}
			if asJSON {
				if ds == nil {
					ds = []feedback.Decision{}
				}
				return writeJSON(a.out, ds)
			}
			tw := tabwriter.NewWriter(a.out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tAT\tACTOR\tACTION\tTARGET\tBEFORE\tAFTER\tREASON")
			for _, d := range ds {
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", d.ID, d.At.Format(time.RFC3339), d.Actor, d.Action, d.Target, dash(d.Before), dash(d.After), truncate(d.Reason, 60))
			}
			return tw.Flush()
		},
	}
	list.Flags().StringVar(&since, "since", "", "only decisions newer than this (e.g. 7d, 24h)")
	list.Flags().StringVar(&target, "target", "", "only decisions on this target (cluster:ID)")
	list.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	var format string
	export := &cobra.Command{
		Use:   "export [--format md|jsonl] [--since 7d]",
		Short: "Export decisions for the review meeting",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ds, err := a.decisions(cmd, since, target)
			if err != nil {
				return err
			}
			return triage.WriteDecisions(a.out, ds, format)
		},
	}
	export.Flags().StringVar(&format, "format", "md", "md or jsonl")
	export.Flags().StringVar(&since, "since", "", "only decisions newer than this (e.g. 7d)")
	export.Flags().StringVar(&target, "target", "", "only decisions on this target")
	cmd.AddCommand(list, export)
	return cmd
}

func (a *app) decisions(cmd *cobra.Command, since, target string) ([]feedback.Decision, error) {
	st, err := a.openStore(cmd.Context(), true)
	if err != nil {
		return nil, err
	}
	f := store.DecisionFilter{Target: target}
	if since != "" {
		d, err := config.ParseDuration(since)
		if err != nil {
			return nil, fmt.Errorf("--since: %v", err)
		}
		f.Since = a.clock.Now().Add(-d)
	}
	return st.Decisions(cmd.Context(), f)
}

func (a *app) digestCmd() *cobra.Command {
	var since, format, outFile string
	cmd := &cobra.Command{
		Use:   "digest [--since 7d] [--format md|html] [--out FILE]",
		Short: "Write the weekly review digest",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			window, err := config.ParseDuration(since)
			if err != nil {
				return fmt.Errorf("--since: %v", err)
			}
			p, err := a.pipeline(cmd.Context())
			if err != nil {
				return err
			}
			engine, err := triage.NewEngine(a.cfg.SLA, a.cfg.Dir())
			if err != nil {
				return err
			}
			data, err := p.BuildDigest(cmd.Context(), engine, window, a.clock.Now())
			if err != nil {
				return err
			}
			var w io.Writer = a.out
			if outFile != "" {
				f, err := os.Create(outFile)
				if err != nil {
					return err
				}
				defer f.Close()
				w = f
			}
			if err := triage.Render(w, data, format); err != nil {
				return err
			}
			if outFile != "" {
				fmt.Fprintf(a.out, "wrote %s\n", outFile)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&since, "since", "7d", "the window to review")
	cmd.Flags().StringVar(&format, "format", "md", "md or html")
	cmd.Flags().StringVar(&outFile, "out", "", "write to this file instead of stdout")
	return cmd
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// accept accepts a cluster through the syncer, so the ticket's outbox row is written
// in the decision's transaction.
func (a *app) accept(cmd *cobra.Command, target, actor, reason string) (triage.Change, error) {
	id, err := triage.ParseClusterTarget(target)
	if err != nil {
		return triage.Change{}, err
	}
	if triage.IsPerson(actor) && reason == "" {
		return triage.Change{}, fmt.Errorf("decide accept %s: reason required: %s is a person", target, actor)
	}
	s, err := a.syncer(cmd)
	if err != nil {
		return triage.Change{}, err
	}
	res, err := s.Accept(cmd.Context(), id, actor, reason)
	if err != nil {
		return triage.Change{}, err
	}
	if res.Queued {
		fmt.Fprintf(a.errOut, "cluster %d: ticket queued for target %s (outbox %d)\n", id, res.Target, res.OutboxID)
	}
	return res.Change, nil
}
