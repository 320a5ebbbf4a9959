package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// serveCmd, statusCmd and benchCmd are being written (issue 11); until then they say so.
func (a *app) serveCmd() *cobra.Command {
	return &cobra.Command{Use: "serve", Short: "Run the service (HTTP, webhooks, jobs)", Hidden: true,
		RunE: func(*cobra.Command, []string) error { return errors.New("serve is not available in this build") }}
}
