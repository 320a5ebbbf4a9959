package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/feedbackhub/feedbackhub/normalize/dedupeval"
)

func (a *app) evalCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "eval", Short: "Measure quality against labelled data"}
	var data, split string
	var window, replicate int
	var asJSON bool
	dedup := &cobra.Command{
		Use:   "dedup --data DIR [--split tune|test|all] [--window DAYS] [--replicate N] [--json]",
		Short: "Run the product's normalize + index + clustering online over a labelled duplicate-report dataset",
		Long: `eval dedup reads a dataset in the apache-hadoop-jira format (issues.jsonl and
queries.csv), feeds every report in time order through the same analyzer, index and
clusterer the service uses, and prints RR@1/5/10/20 and MRR per split, auto-link
precision, recall and merges per 1,000 items, the index build rate, per-item latency
percentiles and peak RSS. --replicate N streams every report N times under renamed
keys, to measure speed and memory at N times the corpus size (ranking and auto-link
figures are then not comparable).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if data == "" {
				return fmt.Errorf("--data is required: a folder with issues.jsonl and queries.csv")
			}
			if replicate < 1 {
				return fmt.Errorf("--replicate %d: must be at least 1 (1 streams the corpus once)", replicate)
			}
			rep, err := dedupeval.Run(cmd.Context(), dedupeval.Options{DataDir: data, Split: dedupeval.Split(split), WindowDays: window, Replicate: replicate})
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(a.out, rep)
			}
			return rep.WriteText(a.out)
		},
	}
	dedup.Flags().StringVar(&data, "data", "", "dataset folder (issues.jsonl, queries.csv)")
	dedup.Flags().StringVar(&split, "split", "all", "tune, test or all")
	dedup.Flags().IntVar(&window, "window", 365, "candidate window in days (negative: none)")
	dedup.Flags().IntVar(&replicate, "replicate", 1, "stream the corpus this many times under renamed keys (speed and memory at scale)")
	dedup.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.AddCommand(dedup)
	return cmd
}
