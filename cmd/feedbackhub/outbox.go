package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/feedbackhub/feedbackhub/connectors"
	"github.com/feedbackhub/feedbackhub/store"
	fhsync "github.com/feedbackhub/feedbackhub/sync"
	"github.com/feedbackhub/feedbackhub/triage"
)

// syncer builds the ticket syncer over the open store.
func (a *app) syncer(cmd *cobra.Command) (*fhsync.Syncer, error) {
	p, err := a.pipeline(cmd.Context())
	if err != nil {
		return nil, err
	}
	engine, err := triage.NewEngine(a.cfg.SLA, a.cfg.Dir())
	if err != nil {
		return nil, err
	}
	return fhsync.New(a.cfg, p.Store, connectors.Env{Config: a.cfg, Clock: a.clock, Logger: a.logger, Redactor: a.redactor}, engine)
}

func (a *app) outboxCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "outbox", Short: "Inspect and retry effects waiting to leave (ticket creation, updates, notifications)"}
	var status string
	var asJSON bool
	list := &cobra.Command{
		Use:   "list [--status pending|sent|dead] [--json]",
		Short: "List outbox rows",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := a.openStore(cmd.Context(), true)
			if err != nil {
				return err
			}
			rows, err := st.ListOutbox(cmd.Context(), store.OutboxFilter{Status: status, Limit: 1000})
			if err != nil {
				return err
			}
			if asJSON {
				if rows == nil {
					rows = []store.OutboxRow{}
				}
				return writeJSON(a.out, rows)
			}
			fmt.Fprintf(a.out, "%-5s %-8s %-14s %-10s %-8s %4s  %s\n", "ID", "STATUS", "KIND", "TARGET", "CLUSTER", "TRY", "LAST ERROR")
			for _, r := range rows {
				fmt.Fprintf(a.out, "%-5d %-8s %-14s %-10s %-8d %4d  %s\n", r.ID, r.Status, r.Kind, dash(r.Target), r.ClusterID, r.Attempts, truncate(r.LastError, 80))
			}
			return nil
		},
	}
	list.Flags().StringVar(&status, "status", "", "only rows in this status")
	list.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	retry := &cobra.Command{
		Use:   "retry ID…",
		Short: "Put dead-lettered rows back in the queue",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := a.openStore(cmd.Context(), true)
			if err != nil {
				return err
			}
			for _, s := range args {
				id, err := strconv.ParseInt(strings.TrimPrefix(s, "outbox:"), 10, 64)
				if err != nil {
					return fmt.Errorf("bad outbox id %q", s)
				}
				r, err := st.RetryOutbox(cmd.Context(), id)
				if err != nil {
					return fmt.Errorf("outbox %d: %w", id, err)
				}
				fmt.Fprintf(a.out, "outbox %d: %s again (attempts reset)\n", r.ID, r.Status)
			}
			return nil
		},
	}
	cmd.AddCommand(list, retry)
	return cmd
}

func (a *app) ticketsCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "tickets", Short: "Tickets created from accepted clusters"}
	var asJSON bool
	list := &cobra.Command{
		Use:   "list [--json]",
		Short: "List tickets",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := a.openStore(cmd.Context(), true)
			if err != nil {
				return err
			}
			ts, err := st.Tickets(cmd.Context(), store.TicketFilter{Limit: 1000})
			if err != nil {
				return err
			}
			if asJSON {
				if ts == nil {
					ts = []store.TicketRecord{}
				}
				return writeJSON(a.out, ts)
			}
			fmt.Fprintf(a.out, "%-8s %-10s %-7s %-24s %-12s %s\n", "CLUSTER", "TARGET", "KIND", "KEY", "STATUS", "URL")
			for _, t := range ts {
				fmt.Fprintf(a.out, "%-8d %-10s %-7s %-24s %-12s %s\n", t.ClusterID, t.Target, t.Kind, t.RemoteKey, dash(t.Status), t.URL)
			}
			return nil
		},
	}
	list.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.AddCommand(list)
	return cmd
}

// printPlanned writes what a dry run would create.
func printPlanned(w io.Writer, ps []fhsync.Planned) {
	for _, p := range ps {
		fmt.Fprintf(w, "would create %s ticket in %s (target %s) for cluster %d: %q labels=%v priority=%s\n",
			p.Kind, p.Where, p.Target, p.ClusterID, p.Issue.Summary, p.Issue.Labels, dash(p.Issue.Priority))
	}
}

// drainOutbox delivers due outbox rows (or plans them, dry-run) after a sync pass.
func (a *app) drainOutbox(cmd *cobra.Command, dryRun bool) error {
	s, err := a.syncer(cmd)
	if err != nil {
		return err
	}
	start := time.Now()
	rep, err := s.Drain(cmd.Context(), fhsync.DrainOptions{DryRun: dryRun})
	if dryRun {
		printPlanned(a.out, rep.Planned)
	}
	fmt.Fprintf(a.out, "outbox: %d queued, %d delivered, %d retrying, %d dead (%s)\n", rep.Queued, rep.Delivered, rep.Retrying, rep.Dead, time.Since(start).Round(time.Millisecond))
	for _, e := range rep.Errors {
		fmt.Fprintln(a.errOut, "outbox: "+a.redactor.Redact(e))
	}
	return err
}
