package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/spf13/cobra"

	"github.com/feedbackhub/feedbackhub/clock"
	"github.com/feedbackhub/feedbackhub/config"
	"github.com/feedbackhub/feedbackhub/connectors"
	"github.com/feedbackhub/feedbackhub/pipeline"
	"github.com/feedbackhub/feedbackhub/store"
)

// EnvConfig names the variable that sets the config file when --config is absent.
const EnvConfig = "FEEDBACKHUB_CONFIG"

const defaultConfigFile = "feedbackhub.yaml"

// app is the state commands share: flags, output, and lazily loaded config and store.
type app struct {
	out, errOut io.Writer
	configPath  string
	logFormat   string
	logLevel    string

	cfg      *config.Config
	st       *store.Store
	logger   *slog.Logger
	redactor *connectors.Redactor
	clock    clock.Clock
}

// exitError carries an exit code without printing anything more.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit %d", e.code) }

func run(ctx context.Context, args []string, out, errOut io.Writer) int {
	a := &app{out: out, errOut: errOut, redactor: connectors.NewRedactor(), clock: clock.Real{}}
	root := a.rootCmd()
	root.SetArgs(args)
	root.SetOut(out)
	root.SetErr(errOut)
	err := root.ExecuteContext(ctx)
	if a.st != nil {
		a.st.Close()
	}
	if err == nil {
		return 0
	}
	var ee exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	fmt.Fprintf(errOut, "feedbackhub: %s\n", a.redactor.Redact(err.Error()))
	return 1
}

func (a *app) rootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "feedbackhub",
		Short:         "Turn scattered design-partner feedback into a tracked, accountable loop",
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			return a.setupLogging()
		},
	}
	f := root.PersistentFlags()
	f.StringVar(&a.configPath, "config", "", "config file (default ./feedbackhub.yaml, or $"+EnvConfig+")")
	f.StringVar(&a.logFormat, "log-format", "text", "log format: text or json")
	f.StringVar(&a.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	root.AddCommand(
		a.initCmd(),
		a.configCmd(),
		a.migrateCmd(),
		a.versionCmd(),
		a.syncCmd(),
		a.itemsCmd(),
		a.importCmd(),
		a.decideCmd(),
		a.decisionsCmd(),
		a.digestCmd(),
		a.rulesCmd(),
		a.clustersCmd(),
		a.evalCmd(),
		a.outboxCmd(),
		a.ticketsCmd(),
		a.serveCmd(),
		a.statusCmd(),
		a.benchCmd(),
		a.pilotCmd(),
	)
	return root
}

func (a *app) setupLogging() error {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(a.logLevel)); err != nil {
		return fmt.Errorf("--log-level %q: want debug, info, warn or error", a.logLevel)
	}
	opts := &slog.HandlerOptions{Level: lvl}
	var h slog.Handler
	switch a.logFormat {
	case "text":
		h = slog.NewTextHandler(a.errOut, opts)
	case "json":
		h = slog.NewJSONHandler(a.errOut, opts)
	default:
		return fmt.Errorf("--log-format %q: want text or json", a.logFormat)
	}
	a.logger = slog.New(connectors.RedactingHandler(h, a.redactor))
	return nil
}

// configFile says which config file to use and whether the user named it.
func (a *app) configFile() (string, bool) {
	if a.configPath != "" {
		return a.configPath, true
	}
	if v := os.Getenv(EnvConfig); v != "" {
		return v, true
	}
	return defaultConfigFile, false
}

// config loads the config once. Without an explicit --config and with no
// ./feedbackhub.yaml, it uses the built-in defaults (embedded SQLite in this folder),
// so the default setup just works.
func (a *app) config() (*config.Config, error) {
	if a.cfg != nil {
		return a.cfg, nil
	}
	path, explicit := a.configFile()
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) && !explicit {
		wd, _ := os.Getwd()
		a.cfg = config.Default(wd)
		if v := os.Getenv(config.EnvDatabaseURL); v != "" {
			a.cfg.Database.URL = v
		}
		a.logger.Debug("no config file; using built-in defaults", "database", a.cfg.Database.URL)
		return a.cfg, nil
	}
	c, err := config.Load(path)
	if err != nil {
		var p *config.Problems
		if errors.As(err, &p) {
			return nil, fmt.Errorf("invalid config (run `feedbackhub config check`):\n%s", err)
		}
		return nil, err
	}
	a.cfg = c
	return c, nil
}

// openStore opens the database; withSchema makes sure the schema is current (SQLite
// and auto_migrate migrate, PostgreSQL otherwise refuses an old schema).
func (a *app) openStore(ctx context.Context, withSchema bool) (*store.Store, error) {
	if a.st != nil {
		return a.st, nil
	}
	cfg, err := a.config()
	if err != nil {
		return nil, err
	}
	st, err := store.Open(ctx, cfg.Database.URL, cfg.Dir())
	if err != nil {
		return nil, err
	}
	if withSchema {
		if err := st.EnsureSchema(ctx, cfg.Database.AutoMigrate); err != nil {
			st.Close()
			return nil, err
		}
	}
	a.st = st
	return st, nil
}

// pipeline builds the wiring for commands that run stages.
func (a *app) pipeline(ctx context.Context) (*pipeline.Pipeline, error) {
	st, err := a.openStore(ctx, true)
	if err != nil {
		return nil, err
	}
	reg, err := pipeline.NewRegistry()
	if err != nil {
		return nil, err
	}
	rh, err := pipeline.LoadRules(a.cfg.Path(a.cfg.Rules), false)
	if err != nil {
		return nil, err
	}
	return &pipeline.Pipeline{Store: st, Config: a.cfg, Registry: reg, Clock: a.clock, Logger: a.logger, Redactor: a.redactor, Rules: rh}, nil
}
