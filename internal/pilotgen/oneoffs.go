package main

// oneOffClusters are problems reported by a single partner (sometimes through two
// channels): they must not be merged with the recurring clusters.
var oneOffClusters = []*Cluster{
	{
		Label: "oneoff-airgapped-install-bundle", Category: "deployment", Severity: "medium",
		Summary:   "offline install bundle for an air-gapped site",
		Component: "Helm chart",
		Titles:    []string{"Offline / air-gapped installation bundle?"},
		Openings: []string{
			"One of our lab sites has no internet access at all. Is there an offline bundle with all images and the chart, or a documented list of images we can mirror into our internal registry (registry.lab.{domain})?",
		},
		Impacts: []string{"", "", "Not urgent, the site goes live in Q1."},
		Sched: `
mail litware 0 3 15:40
`,
	},
	{
		Label: "oneoff-dunning-to-former-employee", Category: "billing", Severity: "low",
		Summary:   "payment reminders go to a billing contact who left the company",
		Component: "Billing",
		Titles:    []string{"Payment reminder sent to the wrong person"},
		Openings: []string{
			"We received a forwarded payment reminder that was addressed to Ben Fischer, who left Wingtip in the summer. The invoice was paid on time, as far as I can see. Please update the billing contact to ap@wingtip.example and check why a reminder was sent at all.",
		},
		Impacts: []string{"", "", "Also, please remove Ben from all distribution lists on your side."},
		Sched: `
mail wingtip 0 43 09:50
`,
	},
	{
		Label: "oneoff-ipv6-only-cluster", Category: "connectivity", Severity: "medium",
		Summary:   "agent can't reach ingest from an IPv6-only cluster (no AAAA record)",
		Component: "Ingest", GHLabels: []string{"connectivity", "enhancement"},
		Titles: []string{"No AAAA record for {ingest}: agent fails on IPv6-only nodes"},
		Openings: []string{
			"We're piloting an IPv6-only AKS cluster and the agent can't ship at all: {ingest} has no AAAA record, and we don't run NAT64 there.",
		},
		Details: []string{
			"~~~\n$ dig +short AAAA {ingest}\n$ kubectl logs ds/feedbackhub-agent | tail -1\nlevel=error msg=\"dial tcp: lookup {ingest} on [fd00:10:96::a]:53: no such host\"\n~~~",
		},
		Impacts: []string{"", "", "Is dual-stack on the roadmap?"},
		Sched: `
github fabrikam 0 27 11:10
`,
	},
	{
		Label: "oneoff-launch-status-page-embed", Category: "launch-integration", Severity: "low",
		Summary:   "wants to embed the vendor status widget in its launch-day ops portal",
		Component: "API",
		Titles:    []string{"Status widget for our launch-day ops portal"},
		Openings: []string{
			"For our launch on {golive} we are building an ops portal for the control room. Can we embed your status page (or get a JSON status feed) so the team sees FeedbackHub incidents next to our own dashboards?",
		},
		Impacts: []string{"", "", "Nice to have, not a blocker."},
		Sched: `
partners bluefin 1 26 16:05
`,
	},
	{
		Label: "oneoff-dark-mode", Category: "other", Severity: "low",
		Summary:   "feature request: dark mode for the dashboard",
		Component: "Dashboard",
		Titles:    []string{"Dark mode for the triage dashboard"},
		Openings: []string{
			"Our on-call engineers use the triage dashboard at night on the big screen in the NOC. A dark theme would be much easier on the eyes. Is that planned?",
		},
		Impacts: []string{"", "", "Low priority, just a wish from the team."},
		Sched: `
jira contoso 0 18 20:15
`,
	},
	{
		Label: "oneoff-docs-broken-links", Category: "other", Severity: "low",
		Summary:   "broken links in the API reference",
		Component: "Docs", GHLabels: []string{"documentation"},
		Titles: []string{"Broken links in the API reference (404 on /docs/api/v1/pagination)"},
		Openings: []string{
			"Several links in the API reference point to /docs/api/v1/pagination, which returns 404. The page seems to have moved to /docs/api/pagination.",
		},
		Impacts: []string{"", "", "Found while onboarding a new developer; not urgent."},
		Sched: `
github tailspin 0 30 09:05
`,
	},
	{
		Label: "oneoff-csv-export-timezone", Category: "other", Severity: "low",
		Summary:   "CSV export timestamps lack a time zone",
		Component: "Dashboard",
		Titles:    []string{"CSV export: timestamps without time zone"},
		Openings: []string{
			"The CSV export of the feedback list has timestamps like 2026-10-21 14:03:11 without any zone. Our analysts assumed local time, but it looks like UTC. Could you add the offset or a note in the header?",
		},
		Impacts: []string{"", "", "Small thing, but it caused a wrong weekly report."},
		Sched: `
mail adatum 0 23 13:20
`,
	},
	{
		Label: "oneoff-invoice-currency-chf", Category: "billing", Severity: "low",
		Summary:   "asks to be invoiced in another currency",
		Component: "Billing",
		Titles:    []string{"Can we be invoiced in CHF for our Zurich entity?"},
		Openings: []string{
			"We're opening a subsidiary in Zurich that will take over the contract next year. Can you invoice that entity in CHF, and can the currency be changed mid-contract?",
		},
		Impacts: []string{"", "", "Not urgent, planning for January."},
		Sched: `
jira litware 1 33 17:30
`,
	},
	{
		Label: "oneoff-mtls-client-cert-rotation", Category: "connectivity", Severity: "high",
		Summary:   "mTLS client certificate rotation drops connections for minutes",
		Component: "Ingest", JiraLabel: []string{"mtls"},
		Titles: []string{"mTLS client cert rotation drops ingest connections", "Connections reset for ~4 minutes whenever our client cert rotates"},
		Openings: []string{
			"We use mTLS to the ingest endpoint with client certificates from our internal CA (rotated every 72h by cert-manager). Each rotation causes about four minutes of 'remote error: tls: bad certificate' before the agents recover.",
			"Every time cert-manager rotates the client certificate of our agents, ingest rejects the connections for a few minutes. Looks like the agent keeps using the old key with the new certificate until it restarts the connection pool.",
		},
		Details: []string{
			"~~~\n{ts} level=error component=exporter error=\"remote error: tls: bad certificate\" cert_serial=4F:1A:…:9C\n~~~",
		},
		Impacts: []string{"", "", "Every 72 hours we get a small gap in our data.", "Happy to test a fix."},
		Sched: `
jira northwind 1 19 10:25 tag=mtls-nw-jira
partners northwind 1 19 10:50 ref=mtls-nw-jira
`,
	},
	{
		Label: "oneoff-pagerduty-launch-routing", Category: "launch-integration", Severity: "medium",
		Summary:   "PagerDuty routing by service for the launch on-call rota",
		Component: "Integrations", GHLabels: []string{"launch", "enhancement"},
		Titles: []string{"PagerDuty integration: route by service for launch on-call"},
		Openings: []string{
			"For Black Friday we run a dedicated launch on-call rota. The PagerDuty integration only supports one routing key per workspace; we need to route escalations for the checkout service to a different PagerDuty service than everything else.",
		},
		Impacts: []string{"", "", "We need this before {golive}; otherwise we'll build a relay ourselves."},
		Sched: `
github wingtip 0 38 14:50
`,
	},
	{
		Label: "oneoff-praise-onboarding", Category: "other", Severity: "low",
		Summary:   "thanks for the onboarding session (no action)",
		Component: "Partner program",
		Titles:    []string{"Thanks for the onboarding session"},
		Openings: []string{
			"Just a quick note to say thank you for last week's onboarding workshop. The team found the session on rules and SLAs really useful, and we've already set up our first escalation policy.",
		},
		Impacts: []string{"", "", "No action needed."},
		Sched: `
mail fabrikam 2 11 15:30
`,
	},
	{
		Label: "oneoff-openshift-scc", Category: "deployment", Severity: "medium",
		Summary:   "chart fails on OpenShift: pods violate the restricted SCC",
		Component: "Helm chart", GHLabels: []string{"bug", "area/helm", "openshift"},
		Titles: []string{"Chart doesn't install on OpenShift 4.15 (SCC runAsUser)", "OpenShift install blocked by security context constraints"},
		Openings: []string{
			"Installing the chart on OpenShift 4.15 fails: the pods request runAsUser 10001, which the restricted-v2 SCC doesn't allow. Could the chart leave runAsUser unset on OpenShift?",
			"Our OpenShift cluster refuses the feedbackhub pods because of the hard-coded runAsUser. I opened a GitHub issue with details; we need a values flag to drop it.",
		},
		Details: []string{
			"~~~\nError creating: pods \"feedbackhub-ingest-5f7b9c-\" is forbidden: unable to validate against any security context constraint: [provider \"restricted-v2\": .spec.securityContext.runAsUser: Invalid value: 10001: must be in the ranges: [1000680000, 1000689999]]\n~~~",
		},
		Impacts: []string{"", "", "Blocks our second cluster, which is OpenShift.", "We patch the rendered manifests for now."},
		Sched: `
github contoso 0 25 10:30 tag=ocp-cf-gh
mail contoso 0 28 09:10 ref=ocp-cf-gh
`,
	},
	{
		Label: "oneoff-annual-prepay-quote", Category: "billing", Severity: "low",
		Summary:   "asks for a quote to switch to annual prepayment",
		Component: "Billing",
		Titles:    []string{"Quote for annual prepayment"},
		Openings: []string{
			"Our CFO would like to switch to annual prepayment from January. Could you send a quote for the {plan} plan with 120 seats, billed annually, and let me know whether there is a discount?",
		},
		Impacts: []string{"", "", "We'd need the quote by mid-November for our budget round."},
		Sched: `
mail bluefin 1 40 10:30
`,
	},
	{
		Label: "oneoff-grpc-keepalive-lb", Category: "connectivity", Severity: "medium",
		Summary:   "gRPC streams dropped by an internal load balancer's idle timeout",
		Component: "Ingest", JiraLabel: []string{"grpc"},
		Titles: []string{"gRPC ingest streams reset every 350s behind our internal LB"},
		Openings: []string{
			"Our agents use the gRPC ingest protocol through an internal load balancer with a 350 second idle timeout. The streams get reset every 350 seconds; the agent reconnects, but we lose in-flight batches. Can the keepalive interval be configured?",
		},
		Details: []string{
			"~~~\nrpc error: code = Unavailable desc = connection reset by peer (stream 4127, idle 350.0s)\n~~~",
		},
		Impacts: []string{"", "", "We'd like a keepalive setting in the agent config."},
		Sched: `
jira tailspin 0 13 11:50
`,
	},
	{
		Label: "oneoff-launch-runbook-review", Category: "launch-integration", Severity: "medium",
		Summary:   "asks for a review of its production launch runbook",
		Component: "Partner program",
		Titles:    []string{"Review of our go-live runbook"},
		Openings: []string{
			"Attached to our shared folder is the runbook for our go-live on {golive}. Could someone from your solutions team review the FeedbackHub-specific steps (cutover of the ingest endpoint, SLA policy activation, rollback)? A 30-minute call next week would be ideal.",
		},
		Impacts: []string{"", "", "Any slot Tuesday to Thursday works for us."},
		Sched: `
mail northwind 0 20 14:15
`,
	},
	{
		Label: "oneoff-dpa-subprocessors", Category: "other", Severity: "low",
		Summary:   "asks for the DPA and the list of subprocessors",
		Component: "Legal",
		Titles:    []string{"DPA and subprocessor list for our privacy review"},
		Openings: []string{
			"Our data protection officer needs the current data processing agreement and the list of subprocessors (with locations) before we can move patient-adjacent workflows onto FeedbackHub.",
		},
		Impacts: []string{"", "", "Needed for our internal review in two weeks."},
		Sched: `
jira fabrikam 1 29 13:40
`,
	},
	{
		Label: "oneoff-agent-memory-growth", Category: "deployment", Severity: "medium",
		Summary:   "agent DaemonSet memory grows until OOMKilled on high-cardinality nodes",
		Component: "Agent", GHLabels: []string{"bug", "area/agent"},
		Titles: []string{"Agent memory grows steadily until OOMKilled (2.14.2)"},
		Openings: []string{
			"On our busiest nodes the agent DaemonSet pods grow from ~120 MiB to the 512 MiB limit over about 36 hours and get OOMKilled. Heap profile attached below; most of it is in the label cache.",
		},
		Details: []string{
			"~~~\nflat  flat%   sum%        cum   cum%\n301.2MB 62.1% 62.1%   301.2MB 62.1%  github.com/feedbackhub/agent/internal/labels.(*Cache).intern\n 88.4MB 18.2% 80.3%    88.4MB 18.2%  github.com/feedbackhub/agent/internal/exporter.(*batcher).add\n~~~",
		},
		Impacts: []string{"", "", "We restart the DaemonSet nightly as a workaround."},
		Sched: `
github bluefin 0 52 11:25
`,
	},
	{
		Label: "oneoff-audit-log-export", Category: "other", Severity: "low",
		Summary:   "feature request: export the audit log to S3 for the SIEM",
		Component: "Dashboard", GHLabels: []string{"enhancement"},
		Titles: []string{"Export audit log to S3 / SIEM"},
		Openings: []string{
			"Our security team wants the FeedbackHub audit log (logins, rule changes, decision log) in our SIEM. An hourly export to an S3 bucket in JSON lines would be enough; the API works but polling it is clumsy.",
		},
		Impacts: []string{"", "", "Would be needed for our SOC 2 audit next spring."},
		Sched: `
github litware 0 17 12:40
`,
	},
	{
		Label: "oneoff-staging-workspace-pricing", Category: "billing", Severity: "low",
		Summary:   "asks whether a staging workspace is billed",
		Component: "Billing",
		Titles:    []string{"Is a second (staging) workspace billed separately?"},
		Openings: []string{
			"We'd like a separate staging workspace to test rule changes before they hit production. Is that billed as a second subscription, or is there a non-production discount? Our volume there would be tiny.",
		},
		Impacts: []string{"", "", "Just need to know for our budget."},
		Sched: `
mail tailspin 0 36 12:15
`,
	},
}
