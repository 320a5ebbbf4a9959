package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/feedbackhub/feedbackhub/config"
	"github.com/feedbackhub/feedbackhub/configs"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func (a *app) versionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v := version
			if bi, ok := debug.ReadBuildInfo(); ok && v == "dev" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
				v = bi.Main.Version
			}
			fmt.Fprintf(a.out, "feedbackhub %s\n", v)
			return nil
		},
	}
}

func (a *app) initCmd() *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "init [DIR]",
		Short: "Write a commented starter feedbackhub.yaml and rules.yaml",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := "."
			if len(args) == 1 {
				dir = args[0]
			}
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return err
			}
			for _, name := range []string{configs.StarterConfig, configs.StarterRules} {
				data, err := configs.FS.ReadFile(name)
				if err != nil {
					return fmt.Errorf("starter %s is missing from this build: %w", name, err)
				}
				dst := filepath.Join(dir, name)
				if _, err := os.Stat(dst); err == nil && !force {
					return fmt.Errorf("%s exists; use --force to overwrite", dst)
				}
				if err := os.WriteFile(dst, data, 0o644); err != nil {
					return err
				}
				fmt.Fprintf(a.out, "wrote %s\n", dst)
			}
			fmt.Fprintf(a.out, "next: feedbackhub --config %s config check\n", filepath.Join(dir, configs.StarterConfig))
			return nil
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "overwrite existing files")
	return cmd
}

func (a *app) configCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "config", Short: "Work with the config file"}
	cmd.AddCommand(&cobra.Command{
		Use:   "check [FILE]",
		Short: "Validate the config file: each problem as FILE:LINE:COL: path: message",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path, _ := a.configFile()
			if len(args) == 1 {
				path = args[0]
			}
			c, err := config.Load(path)
			var probs *config.Problems
			if errors.As(err, &probs) {
				for _, p := range probs.List {
					fmt.Fprintln(a.out, p.String())
				}
				fmt.Fprintf(a.errOut, "%d problem(s) in %s\n", len(probs.List), path)
				return exitError{1}
			}
			if err != nil {
				return err
			}
			rulesNote, err := checkRules(c)
			if err != nil {
				fmt.Fprintln(a.out, err.Error())
				return exitError{1}
			}
			fmt.Fprintf(a.out, "%s: ok (%d sources, %d partners, %d SLA policies, database %s%s)\n",
				path, len(c.Sources), len(c.Partners), len(c.SLA.Policies), c.Database.URL, rulesNote)
			return nil
		},
	})
	return cmd
}

// checkRules validates the rules file the config names, when it exists.
func checkRules(c *config.Config) (string, error) {
	p := c.Path(c.Rules)
	if _, err := os.Stat(p); err != nil {
		return ", no rules file", nil
	}
	return lintRulesFile(p)
}
