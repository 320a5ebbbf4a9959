package pipeline

import (
	"github.com/feedbackhub/feedbackhub/config"
	"github.com/feedbackhub/feedbackhub/connectors"
	"github.com/feedbackhub/feedbackhub/connectors/file"
	"github.com/feedbackhub/feedbackhub/connectors/github"
	"github.com/feedbackhub/feedbackhub/connectors/imap"
	"github.com/feedbackhub/feedbackhub/connectors/jira"
	"github.com/feedbackhub/feedbackhub/connectors/webhook"
)

// NewRegistry returns the registry of every connector this binary has. It is the one
// place connectors are wired; nothing registers itself.
func NewRegistry() (*connectors.Registry, error) {
	r := connectors.NewRegistry()
	for _, k := range []struct {
		kind string
		f    connectors.Factory
	}{
		{github.Kind, github.New},
		{jira.Kind, jira.New},
		{config.KindIMAP, imap.New},
		{config.KindWebhook, webhook.New},
		{config.KindFile, file.New},
	} {
		if err := r.Register(k.kind, k.f); err != nil {
			return nil, err
		}
	}
	return r, nil
}
