package main

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"runtime/pprof"

	"github.com/spf13/cobra"

	"github.com/feedbackhub/feedbackhub/config"
	"github.com/feedbackhub/feedbackhub/connectors"
	"github.com/feedbackhub/feedbackhub/pipeline"
	"github.com/feedbackhub/feedbackhub/server"
	"github.com/feedbackhub/feedbackhub/store"
)

// envBenchSecret is the variable bench puts its generated partner secret in, for the
// webhook connector to read like any configured secret.
const envBenchSecret = "FEEDBACKHUB_BENCH_WHSEC"

// benchCmd measures intake and webhook throughput on a fresh database.
func (a *app) benchCmd() *cobra.Command {
	var items, requests, concurrency int
	var dbURL, cpuProfile string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "bench [--items N] [--database URL]",
		Short: "Measure intake → clustered items per second and webhook intake against the database's raw limits",
		Long: `Bench generates N synthetic records (realistic lengths, planted duplicates) and measures
in one run: intake (Ingest + the clustering/rules loop) against plain INSERTs of the
same rows, and the partner webhook handler (Standard Webhooks signatures) under an
in-process load generator on loopback against a bare handler that writes one row.
Without --database it uses a new SQLite file in a temporary folder; give a fresh
PostgreSQL database or schema with --database (the run leaves its items behind).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if cpuProfile != "" {
				f, err := os.Create(cpuProfile)
				if err != nil {
					return err
				}
				defer f.Close()
				if err := pprof.StartCPUProfile(f); err != nil {
					return err
				}
				defer pprof.StopCPUProfile()
			}
			if dbURL == "" {
				dir, err := os.MkdirTemp("", "feedbackhub-bench-")
				if err != nil {
					return err
				}
				defer os.RemoveAll(dir)
				dbURL = "sqlite:" + filepath.Join(dir, "bench.db")
			}
			var key [32]byte
			if _, err := rand.Read(key[:]); err != nil {
				return err
			}
			secret := "whsec_" + base64.StdEncoding.EncodeToString(key[:])
			if err := os.Setenv(envBenchSecret, secret); err != nil {
				return err
			}
			y := fmt.Sprintf("database:\n  url: %q\nsources:\n  - name: bench-hooks\n    kind: webhook\npartners:\n  - id: benchco\n    domains: [benchco.example]\n    webhook_secrets_env: [%s]\n", dbURL, envBenchSecret)
			cfg, err := config.Parse("bench.yaml", ".", []byte(y))
			if err != nil {
				return err
			}
			cfg.Database.URL = dbURL
			st, err := store.Open(ctx, dbURL, ".")
			if err != nil {
				return err
			}
			defer st.Close()
			if err := st.EnsureSchema(ctx, true); err != nil {
				return err
			}
			if n, err := st.CountRecords(ctx, ""); err != nil {
				return err
			} else if n > 0 {
				fmt.Fprintf(a.errOut, "warning: %s already holds %d records; figures are for a database that is not fresh\n", st.Location().Display, n)
			}
			reg, err := pipeline.NewRegistry()
			if err != nil {
				return err
			}
			p := &pipeline.Pipeline{Store: st, Config: cfg, Registry: reg, Clock: a.clock, Logger: a.logger, Redactor: connectors.NewRedactor()}
			res, err := server.RunBench(ctx, p, server.BenchOptions{Items: items, Requests: requests, Concurrency: concurrency,
				Partner: "benchco", Secret: secret, Source: "bench-hooks", Seed: 1}, a.errOut)
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(a.out, res)
			}
			res.Write(a.out)
			return nil
		},
	}
	cmd.Flags().IntVar(&items, "items", 5000, "synthetic records to push through intake")
	cmd.Flags().StringVar(&dbURL, "database", "", "database URL (default: a new SQLite file in a temporary folder)")
	cmd.Flags().IntVar(&requests, "requests", 0, "webhook deliveries per handler (default min(items, 5000))")
	cmd.Flags().IntVar(&concurrency, "concurrency", 16, "concurrent webhook clients")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.Flags().StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of the run to this file (go tool pprof)")
	return cmd
}
