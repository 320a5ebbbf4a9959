package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func (a *app) migrateCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:       "migrate [up|down|status]",
		Short:     "Apply (default), roll back one, or list schema migrations",
		Args:      cobra.MaximumNArgs(1),
		ValidArgs: []string{"up", "down", "status"},
		RunE: func(cmd *cobra.Command, args []string) error {
			action := "up"
			if len(args) == 1 {
				action = args[0]
			}
			ctx := cmd.Context()
			st, err := a.openStore(ctx, false)
			if err != nil {
				return err
			}
			loc := st.Location().Display
			switch action {
			case "up":
				applied, err := st.MigrateUp(ctx)
				for _, m := range applied {
					fmt.Fprintf(a.out, "applied %s\n", m)
				}
				if err != nil {
					return err
				}
				cur, _, _ := st.SchemaVersion(ctx)
				fmt.Fprintf(a.out, "%s: schema at version %d (%d migrations applied now)\n", loc, cur, len(applied))
			case "down":
				m, err := st.MigrateDown(ctx)
				if err != nil {
					return err
				}
				if m == "" {
					fmt.Fprintf(a.out, "%s: nothing to roll back\n", loc)
					return nil
				}
				fmt.Fprintf(a.out, "rolled back %s\n", m)
			case "status":
				states, err := st.MigrationStatus(ctx)
				if err != nil {
					return err
				}
				for _, s := range states {
					mark := "pending"
					if s.Applied {
						mark = "applied"
					}
					fmt.Fprintf(a.out, "%-8s %05d %s\n", mark, s.Version, s.Source)
				}
				cur, latest, err := st.SchemaVersion(ctx)
				if err != nil {
					return err
				}
				fmt.Fprintf(a.out, "%s: version %d of %d\n", loc, cur, latest)
			default:
				return fmt.Errorf("unknown migrate action %q (want up, down or status)", action)
			}
			return nil
		},
	}
	return cmd
}
