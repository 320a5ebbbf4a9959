package normalize

import (
	"reflect"
	"testing"

	"github.com/feedbackhub/feedbackhub/feedback"
)

func TestExtractRefs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		opts RefOptions
		want []feedback.Ref
	}{
		{"jira keys of configured projects only", "Same as HDFS-123 and fb-9; UTF-8 and SHA-256 are not keys, YARN-7 is.", RefOptions{JiraProjects: []string{"HDFS", "YARN"}},
			[]feedback.Ref{{Kind: feedback.RefJiraKey, Value: "HDFS-123"}, {Kind: feedback.RefJiraKey, Value: "YARN-7"}}},
		{"no projects configured", "HDFS-123", RefOptions{}, nil},
		{"github url and short form", "See https://github.com/Acme/Widget/issues/42 and acme/widget#42, also other/repo#7.", RefOptions{NoURLs: true},
			[]feedback.Ref{{Kind: feedback.RefGitHub, Value: "acme/widget#42"}, {Kind: feedback.RefGitHub, Value: "other/repo#7"}}},
		{"message id and url", "In reply to <CAF+abc@mail.example.com>, details at https://example.com/page?x=1).", RefOptions{},
			[]feedback.Ref{{Kind: feedback.RefMessageID, Value: "CAF+abc@mail.example.com"}, {Kind: feedback.RefURL, Value: "https://example.com/page?x=1"}}},
		{"jira browse url gives key and url", "https://issues.apache.org/jira/browse/HDFS-5", RefOptions{JiraProjects: []string{"HDFS"}},
			[]feedback.Ref{{Kind: feedback.RefJiraKey, Value: "HDFS-5"}, {Kind: feedback.RefURL, Value: "https://issues.apache.org/jira/browse/HDFS-5"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ExtractRefs(tt.in, tt.opts)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ExtractRefs(%q) =\n%v\nwant\n%v", tt.in, got, tt.want)
			}
		})
	}
}

func TestAttribute(t *testing.T) {
	t.Parallel()
	partners := []feedback.Partner{
		{ID: "acme", Domains: []string{"acme.com"}, GitHubLogins: []string{"acme-bot"}},
		{ID: "globex", Domains: []string{"@globex.io"}, JiraAccounts: []string{"5b10ac8d82e05b22cc7d4ef5"}},
		{ID: "initech", GitHubLogins: []string{"Peter"}},
	}
	tests := []struct {
		name string
		rec  feedback.Record
		want string
	}{
		{"email domain", feedback.Record{AuthorEmail: "Jane@ACME.com"}, "acme"},
		{"sub-domain", feedback.Record{AuthorEmail: "ops@eu.acme.com"}, "acme"},
		{"look-alike domain", feedback.Record{AuthorEmail: "x@notacme.com"}, feedback.UnknownPartner},
		{"from_domain meta", feedback.Record{Meta: map[string]string{MetaFromDomain: "globex.io"}}, "globex"},
		{"github login case-insensitive", feedback.Record{Author: "peter"}, "initech"},
		{"github login meta", feedback.Record{Author: "Acme Bot", Meta: map[string]string{MetaGitHubLogin: "acme-bot"}}, "acme"},
		{"jira account", feedback.Record{Author: "5b10ac8d82e05b22cc7d4ef5"}, "globex"},
		{"webhook partner wins", feedback.Record{AuthorEmail: "a@acme.com", Meta: map[string]string{MetaPartner: "globex"}}, "globex"},
		{"unknown webhook partner falls through", feedback.Record{AuthorEmail: "a@acme.com", Meta: map[string]string{MetaPartner: "nope"}}, "acme"},
		{"nothing", feedback.Record{Author: "someone"}, feedback.UnknownPartner},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Attribute(tt.rec, partners); got != tt.want {
				t.Errorf("Attribute = %q, want %q", got, tt.want)
			}
		})
	}
}
