package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/feedbackhub/feedbackhub/config"
	"github.com/feedbackhub/feedbackhub/feedback"
	"github.com/feedbackhub/feedbackhub/rules"
	"github.com/feedbackhub/feedbackhub/store"
	"github.com/feedbackhub/feedbackhub/triage"
)

// lintRulesFile lints the rules file for `config check`.
func lintRulesFile(path string) (string, error) {
	probs, err := rules.LintFile(path)
	if err != nil {
		return "", err
	}
	if len(probs) > 0 {
		return "", rules.Problems(probs)
	}
	set, err := rules.Load(path)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf(", rules %s@%s", path, set.Hash), nil
}

func (a *app) rulesPath(args []string) (string, error) {
	if len(args) == 1 {
		return args[0], nil
	}
	cfg, err := a.config()
	if err != nil {
		return "", err
	}
	return cfg.Path(cfg.Rules), nil
}

func (a *app) rulesCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "rules", Short: "Lint, test, explain and replay the classification rules"}
	cmd.AddCommand(&cobra.Command{
		Use:   "lint [FILE]",
		Short: "Check a rules file: FILE:LINE:COL: rule NAME: message for each problem",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path, err := a.rulesPath(args)
			if err != nil {
				return err
			}
			probs, err := rules.LintFile(path)
			if err != nil {
				return err
			}
			for _, p := range probs {
				fmt.Fprintln(a.out, p.String())
			}
			if len(probs) > 0 {
				fmt.Fprintf(a.errOut, "%d problem(s) in %s\n", len(probs), path)
				return exitError{1}
			}
			set, err := rules.Load(path)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.out, "%s: ok (version %s)\n", path, set.Hash)
			return nil
		},
	})
	cmd.AddCommand(&cobra.Command{
		Use:   "test FILE",
		Short: "Run rule test cases (inputs and expected effects); prints a diff for each failure",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			passed, failed, err := rules.RunTests(args[0], a.out)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.out, "%d passed, %d failed\n", passed, failed)
			if failed > 0 {
				return exitError{1}
			}
			return nil
		},
	})
	cmd.AddCommand(&cobra.Command{
		Use:   "explain ITEM_OR_CLUSTER_ID",
		Short: "Show every rule, matched or not, and why, for item:ID or cluster:ID",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := a.pipeline(cmd.Context())
			if err != nil {
				return err
			}
			if p.Rules == nil {
				return fmt.Errorf("no rules file at %s", a.cfg.Path(a.cfg.Rules))
			}
			ex, err := p.Explain(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			fmt.Fprint(a.out, ex.String())
			return nil
		},
	})
	var since string
	var apply bool
	replay := &cobra.Command{
		Use:   "replay [--since 30d] [--apply]",
		Short: "Re-evaluate stored items and clusters with the current rules and show what would change",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			d, err := config.ParseDuration(since)
			if err != nil {
				return fmt.Errorf("--since: %v", err)
			}
			p, err := a.pipeline(cmd.Context())
			if err != nil {
				return err
			}
			if p.Rules == nil {
				return fmt.Errorf("no rules file at %s", a.cfg.Path(a.cfg.Rules))
			}
			changes, err := p.Replay(cmd.Context(), a.clock.Now().Add(-d), apply)
			if err != nil {
				return err
			}
			for _, c := range changes {
				fmt.Fprintf(a.out, "%s %s: %s → %s [%s]\n", c.Target, c.Field, dash(c.Before), dash(c.After), c.Actor)
			}
			verb := "would change"
			if apply {
				verb = "changed (recorded as decisions)"
			}
			fmt.Fprintf(a.out, "%d field(s) %s under rules %s\n", len(changes), verb, p.Rules.Current().Hash)
			return nil
		},
	}
	replay.Flags().StringVar(&since, "since", "30d", "only items created within this window")
	replay.Flags().BoolVar(&apply, "apply", false, "apply the changes and record them as decisions")
	cmd.AddCommand(replay)
	return cmd
}

func (a *app) clustersCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "clusters", Short: "List clusters and show why their items were grouped"}
	var asJSON bool
	var status string
	var limit int
	list := &cobra.Command{
		Use:   "list [--json] [--status S]",
		Short: "List clusters, most recently active first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := a.openStore(cmd.Context(), true)
			if err != nil {
				return err
			}
			cs, err := st.Clusters(cmd.Context(), store.ClusterFilter{Status: feedback.Status(status), NonEmpty: true, Limit: limit})
			if err != nil {
				return err
			}
			if asJSON {
				if cs == nil {
					cs = []feedback.Cluster{}
				}
				return writeJSON(a.out, cs)
			}
			fmt.Fprintf(a.out, "%-5s %-10s %-18s %-9s %5s %8s  %s\n", "ID", "STATUS", "CATEGORY", "SEVERITY", "ITEMS", "PARTNERS", "TITLE")
			for _, c := range cs {
				fmt.Fprintf(a.out, "%-5d %-10s %-18s %-9s %5d %8d  %s\n", c.ID, c.Status, dash(string(c.Category)), dash(string(c.Severity)), c.ItemsCount, c.PartnersCount, truncate(c.Title, 70))
			}
			return nil
		},
	}
	list.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	list.Flags().StringVar(&status, "status", "", "only clusters in this status")
	list.Flags().IntVar(&limit, "limit", 1000, "at most this many")
	show := &cobra.Command{
		Use:   "show ID",
		Short: "Show a cluster, its items and why each was grouped",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := triage.ParseClusterTarget(args[0])
			if err != nil {
				return err
			}
			p, err := a.pipeline(cmd.Context())
			if err != nil {
				return err
			}
			v, err := p.ClusterView(cmd.Context(), id)
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(a.out, v)
			}
			fmt.Fprint(a.out, v.String())
			return nil
		},
	}
	show.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.AddCommand(list, show)
	return cmd
}
