package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/feedbackhub/feedbackhub/config"
	"github.com/feedbackhub/feedbackhub/connectors"
	"github.com/feedbackhub/feedbackhub/connectors/file"
	"github.com/feedbackhub/feedbackhub/feedback"
	"github.com/feedbackhub/feedbackhub/triage"
)

func (a *app) importCmd() *cobra.Command {
	var source, format string
	var strict bool
	cmd := &cobra.Command{
		Use:   "import --source NAME FILE…",
		Short: "Backfill feedback from exported files (mbox, eml, jsonl, csv, github-json, jira-json)",
		Long: `Import reads files into a configured source. The source must be of kind file
(its format and CSV mapping come from the config), or --format must say how to read
the files. Importing the same file again stores nothing new. Each rejected row is
reported as FILE:LINE: reason and the import goes on; --strict makes rejects fail.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, paths []string) error {
			ctx := cmd.Context()
			p, err := a.pipeline(ctx)
			if err != nil {
				return err
			}
			if source == "" {
				return fmt.Errorf("--source is required (a source name from %s)", a.cfg.File())
			}
			src, ok := a.cfg.Source(source)
			switch {
			case !ok && format == "":
				return fmt.Errorf("no source named %q in the config; add a source of kind file, or pass --format to import under that name", source)
			case !ok:
				src = config.Source{Name: source, Kind: config.KindFile, File: &config.FileSource{Paths: paths, Format: format}}
				if err := src.Validate(); err != nil {
					return fmt.Errorf("--format %s: %v", format, err)
				}
			case src.Kind != config.KindFile && format == "":
				return fmt.Errorf("source %s is of kind %s; pass --format to import files into it", source, src.Kind)
			case format != "":
				fs := config.FileSource{Paths: paths, Format: format}
				if src.File != nil {
					fs.CSV = src.File.CSV
				}
				src = config.Source{Name: src.Name, Kind: config.KindFile, File: &fs}
			}
			ingest := func(ctx context.Context, recs []feedback.Record) (int, int, error) {
				r, err := p.Store.Ingest(ctx, src.Name, recs, nil)
				return r.New, r.Duplicate, err
			}
			env := connectors.Env{Config: a.cfg, Clock: a.clock, Logger: a.logger, Redactor: a.redactor}
			sum, err := file.Import(ctx, src, env, paths, a.out, ingest)
			if err != nil {
				return err
			}
			engine, err := triage.NewEngine(a.cfg.SLA, a.cfg.Dir())
			if err != nil {
				return err
			}
			step, err := p.Step(ctx, engine)
			if err != nil {
				return err
			}
			printStep(a.out, step)
			if strict && sum.Rejected > 0 {
				return exitError{1}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&source, "source", "", "source name to import into")
	cmd.Flags().StringVar(&format, "format", "", "file format when the source is not a file source: "+fmt.Sprint(config.FileFormats))
	cmd.Flags().BoolVar(&strict, "strict", false, "exit 1 when any row is rejected")
	return cmd
}
