package main

// Clusters are the planted clusters: recurring patterns, cross-source duplicates and
// one-offs (oneoffs.go). The texts are hand-written for this data set; placeholders in
// braces ({company}, {host}, {ver}, …) are filled per item (see Vars), § stands for a
// backtick and ~~~ fences a code block.
var Clusters = append(recurringClusters, oneOffClusters...)

var recurringClusters = []*Cluster{
	{
		Label: "tls-handshake-timeout-ingest", Category: "connectivity", Severity: "high",
		Summary:   "agents time out in the TLS handshake with the ingest endpoint",
		Component: "Ingest", GHLabels: []string{"bug", "area/ingest", "connectivity"}, JiraLabel: []string{"connectivity", "ingest"},
		Titles: []string{
			"TLS handshake timeout to {ingest} from {region}",
			"net/http: TLS handshake timeout when shipping events (agent {ver})",
			"Agents intermittently fail the TLS handshake against the ingest endpoint",
			"Ingest connections hang after ClientHello, time out after 10s",
			"Event shipping stalls: handshake timeouts since Monday",
			"TLS timeouts to the ingest API, retries pile up in the agent queue",
			"Intermittent 'TLS handshake timeout' from relay {host}",
			"Handshake with ingest takes more than 10 seconds from our VPC",
		},
		Openings: []string{
			"Since this morning our relay {host} keeps failing to connect to {ingest}. The TCP connection opens fine but the TLS handshake never completes and the agent gives up after 10 seconds. Roughly one batch in five is affected.",
			"We're seeing TLS handshake timeouts from the shipping agent ({ver}) in {region}. It is intermittent: a retry usually works, but the backlog grows during business hours and we have had a couple of gaps in our dashboards.",
			"Our agents started logging §TLS handshake timeout§ against your ingest endpoint overnight. Nothing changed on our side as far as we can tell: same image, same egress NAT, same CA bundle.",
			"Heads-up: shipping from {cluster} is flaky. openssl s_client sometimes sits for 10+ seconds after sending the ClientHello before anything comes back, and sometimes the whole handshake is done in 40 ms.",
			"The ingest endpoint seems to drop or delay TLS handshakes from us. We see it from two different egress IPs, so I doubt it is a single NAT gateway.",
			"We have an intermittent connectivity problem to ingest: handshakes time out, the agent backs off and eventually gets through. It started around the time you announced the new edge certificates.",
			"Seeing the same handshake timeouts that others apparently reported. Our relay {host} in {region} hits them mostly between 08:00 and 11:00 local time, hardly at night.",
		},
		Details: []string{
			"~~~\n{ts} WARN shipper: batch 88213 failed attempt=1 err=\"Post \\\"https://{ingest}/v1/events\\\": net/http: TLS handshake timeout\"\n{ts} WARN shipper: batch 88213 failed attempt=2 err=\"Post \\\"https://{ingest}/v1/events\\\": net/http: TLS handshake timeout\"\n{ts} INFO shipper: batch 88213 sent attempt=3 latency=212ms\n~~~",
			"~~~\n$ time openssl s_client -connect {ingest}:443 -servername {ingest} </dev/null\nCONNECTED(00000003)\n(nothing for ~11s)\n40E7A1C2B27F0000:error:0A000126:SSL routines:ssl3_read_n:unexpected eof while reading:ssl/record/rec_layer_s3.c:303:\nreal    0m11.204s\n~~~",
			"From the agent log on {host}:\n\n~~~\nlevel=error component=exporter endpoint={ingest}:443 error=\"tls: handshake did not complete within 10s\" retry_in=4s queue_depth={n}\n~~~",
			"~~~\n$ curl -sv -o /dev/null https://{ingest}/healthz\n* Connected to {ingest} (203.0.113.40) port 443\n* TLSv1.3 (OUT), TLS handshake, Client hello (1):\n* Operation timed out after 10001 milliseconds with 0 bytes received\n~~~",
		},
		Impacts: []string{
			"This delays our alerting pipeline by up to 15 minutes, which the on-call team is not happy about.",
			"We are a few weeks from production launch, so we need to know whether this is on your side.",
			"No data lost so far thanks to the agent's disk buffer, but the buffer is at 60% and climbing.",
			"Can you check whether your edge in {region} had a change? Happy to share a packet capture.",
			"Severity for us is high: every site that ships through this relay is affected.",
		},
		Replies: []string{
			"Here is the diag bundle you asked for: https://files.{domain}/s/fh-diag-{n} (link expires Friday).\n\nFrom the pcap we took at the same time: in the bad cases the ServerHello arrives 10.3 s after our ClientHello, so the delay is on the server side of the handshake.",
			"Small update: with handshake_timeout raised to 30s in the agent config we no longer lose batches, but latency is still bad. Please keep the ticket open.",
			"For what it's worth, it seems to have stopped since about 14:00 our time. Did you roll something back? We'd like to understand the root cause before go-live.",
			"Adding to Jörg's mail: we see the same on the staging bridge, not only production. Timeouts cluster around full hours, which smells like a cron job or a cert reload somewhere.",
		},
		Tracking: []string{
			"Handshakes stall after the ClientHello and the agent's 10s handshake timeout fires. Suspect the new TLS termination pool at the edge (rolled out the week before); need the handshake queue and CPU metrics of the pool.",
			"Several partners report intermittent TLS handshake timeouts against {ingest}. Common factors: agent 2.13/2.14, peak hours, EU and US regions alike. No pattern in client CA bundles or TLS versions.",
		},
		Updates: []string{
			"Update from {first}: now affecting the production relays as well, raising severity. Backlog at {n} batches.",
		},
		Sched: `
mail northwind 0 1 09:14 tag=tls-nw-mail
github northwind 1 1 16:02 tag=tls-nw-gh ref=tls-nw-mail
partners northwind 0 2 08:45 tag=tls-nw-ev
jira pm - 2 10:30 tag=tls-jira for=northwind ref=tls-nw-gh st=progress
mailreply northwind 0 3 08:20 parent=tls-nw-mail ref=tls-jira
mail tailspin 0 4 14:10
update northwind 0 5 09:00 parent=tls-nw-ev sev=critical
github tailspin 0 6 10:00 ref=tls-nw-gh
comment northwind 1 6 17:30 parent=tls-nw-ev
mail fabrikam 0 7 13:05 tag=tls-fab-mail
jira northwind 1 8 09:40 ref=tls-jira
github contoso 0 9 11:20
mailreply fabrikam 1 9 15:10 parent=tls-fab-mail via=self
partners bluefin 0 10 10:15
jira pm - 11 14:00 st=progress
github fabrikam 1 8 10:30 ref=tls-fab-mail
`,
	},
	{
		Label: "invoice-double-charge-upgrade", Category: "billing", Severity: "high",
		Summary:   "card or account charged twice after a mid-cycle plan upgrade",
		Component: "Billing", GHLabels: []string{"bug", "area/billing"}, JiraLabel: []string{"billing", "invoicing"},
		Titles: []string{
			"Charged twice after upgrading to the {plan} plan",
			"Double charge after switching to the {plan} plan",
			"Duplicate invoice ({inv} and {inv2}) after plan change",
			"Two payments taken for the same billing period",
			"Plan upgrade created a second full-price invoice instead of a proration",
			"Invoice charged twice after plan upgrade",
			"Billing: we were debited {amount} twice this month",
			"Upgrade to {plan} billed as a new subscription, old one still charged",
		},
		Openings: []string{
			"We upgraded our workspace to the {plan} plan on the 6th and our card was charged twice: once {amount} for the full month and again the same amount a few minutes later. Both show up as separate invoices, {inv} and {inv2}.",
			"After our admin moved us from Growth to {plan} in the billing portal, we received two invoices for the same period. I expected a prorated difference, not a second full charge.",
			"Our finance team flagged a duplicate payment to FeedbackHub. Looking at the portal, the plan change on our account created a new subscription while the old one kept running, so we are paying for both.",
			"Quick one for billing: the plan upgrade last week resulted in a double debit of {amount}. Could you refund the duplicate and confirm it won't happen again at renewal?",
			"I think your proration logic has a bug. We changed plans mid-cycle and got charged the full new price plus the old price, with no credit for the unused days.",
			"We see two identical charges on our company card statement from FeedbackHub on the same day, right after we clicked 'Upgrade' in the admin console. The second invoice has no line item description, just the plan name.",
			"Same as what I hear from other customers: upgrading the plan charged us twice. Invoice numbers are {inv} and {inv2}.",
		},
		Details: []string{
			"Invoice {inv}: {plan} plan, 1 month, {amount}, paid\nInvoice {inv2}: {plan} plan, 1 month, {amount}, paid\nExpected: one prorated invoice for the difference.",
			"- Account: {account}\n- Upgrade done by our admin in the billing portal\n- Both invoices paid automatically by card on file",
			"Portal shows: \"Subscription sub_{n}A (active)\" and \"Subscription sub_{n}B (active)\", both on the {plan} plan.",
		},
		Impacts: []string{
			"Our procurement rules require a credit note for the duplicate, not just a refund.",
			"Not urgent technically, but finance needs this sorted before month-end close.",
			"Please also check whether the renewal next month will charge twice again.",
			"We have paused further seat purchases until this is corrected.",
			"Can you confirm the refund timeline? Our card has a monthly limit and the second charge pushed us over it.",
		},
		Replies: []string{
			"Thanks for the quick answer. The refund for {inv2} has not arrived yet, could you send us the credit note as PDF in the meantime?",
			"I can confirm the second subscription is still listed as active in the portal today. Please cancel it on your side, we don't want a third charge.",
			"Back in the office now. The refund arrived, thank you, but we still need a corrected invoice with our PO number for the audit trail.",
		},
		Tracking: []string{
			"Plan upgrades from the billing portal create a second subscription instead of updating the existing one; both are charged in full. Affects card and invoice payments. Need refunds/credit notes for affected accounts and a fix in the upgrade flow.",
			"Several partners charged twice after a mid-cycle plan upgrade within two weeks. Root cause suspected in the new portal upgrade flow (subscription create instead of update, no proration).",
		},
		Sched: `
mail tailspin 1 8 10:22 tag=dc-ts-mail
partners northwind 2 10 09:05 tag=dc-nw-ev
mail northwind 2 10 09:30 tag=dc-nw-mail ref=dc-nw-ev
jira wingtip 1 11 13:40 tag=dc-wt-jira
mailreply tailspin 1 11 16:02 parent=dc-ts-mail
mail litware 1 12 11:15
github wingtip 0 14 15:20 ref=dc-wt-jira
jira pm - 15 09:10 tag=dc-jira st=progress
partners contoso 2 16 10:40
mail adatum 1 19 10:05
comment northwind 2 20 11:00 parent=dc-nw-ev
mailreply northwind 2 22 08:55 parent=dc-nw-mail ref=dc-jira
jira fabrikam 2 22 09:30 ref=dc-jira
mail bluefin 1 24 17:45
`,
	},
	{
		Label: "helm-upgrade-immutable-selector", Category: "deployment", Severity: "high",
		Summary:   "helm upgrade to chart 3.0 fails: spec.selector field is immutable",
		Component: "Helm chart", GHLabels: []string{"bug", "area/helm"}, JiraLabel: []string{"helm", "upgrade"},
		Titles: []string{
			"helm upgrade to chart {chart} fails: spec.selector field is immutable",
			"UPGRADE FAILED: cannot patch feedbackhub-ingest (Deployment selector immutable)",
			"Chart 3.x upgrade broken on existing installs",
			"Helm chart upgrade fails with immutable field",
			"Can't upgrade from 2.9.4 to {chart}: Deployment.apps is invalid",
			"Upgrade of the helm release fails, rollback leaves the release in 'failed'",
			"Immutable selector error when upgrading feedbackhub chart",
			"Argo CD sync fails after bumping chart to {chart}",
		},
		Openings: []string{
			"Upgrading our release from chart 2.9.4 to {chart} fails every time on {cluster}. Helm complains that the selector of the ingest Deployment is immutable. Fresh installs of {chart} work, only upgrades break.",
			"We tried the new chart in staging today and helm refuses to upgrade the existing release. Looks like the selector labels changed between 2.x and 3.x, which Kubernetes doesn't allow on an existing Deployment.",
			"helm upgrade --install with chart {chart} fails with 'field is immutable'. We can work around it by deleting the Deployments first, but that means downtime, which we can't do in production.",
			"Our GitOps pipeline (Argo CD) can't sync the new chart version: the diff shows a changed spec.selector.matchLabels on feedbackhub-ingest and feedbackhub-worker, and the apply is rejected.",
			"The upgrade notes for 3.0 don't mention any manual steps, but the upgrade fails on our cluster ({k8s}) with an immutable field error. Is there a migration procedure?",
			"Chart upgrade is blocked for us. Error below; the release ends in 'failed' state and a rollback to the previous revision was needed.",
			"Same immutable selector error as the other reports, on {cluster}, chart {chart}, Kubernetes {k8s}.",
		},
		Details: []string{
			"~~~\nError: UPGRADE FAILED: cannot patch \"feedbackhub-ingest\" with kind Deployment: Deployment.apps \"feedbackhub-ingest\" is invalid: spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{\"app.kubernetes.io/component\":\"ingest\", \"app.kubernetes.io/instance\":\"feedbackhub\", \"app.kubernetes.io/name\":\"feedbackhub\"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable\n~~~",
			"~~~\n$ helm upgrade feedbackhub feedbackhub/feedbackhub --version {chart} -n feedbackhub -f values-prod.yaml\nError: UPGRADE FAILED: cannot patch \"feedbackhub-worker\" with kind Deployment: Deployment.apps \"feedbackhub-worker\" is invalid: spec.selector: Invalid value: ...: field is immutable\n$ helm history feedbackhub -n feedbackhub | tail -2\n14  Tue Oct 13 10:02:11 2026  deployed  feedbackhub-2.9.4  2.12.8  Upgrade complete\n15  Tue Oct 13 10:19:40 2026  failed    feedbackhub-{chart}  {ver}  Upgrade \"feedbackhub\" failed\n~~~",
			"~~~\nComparisonError: one or more objects failed to apply, reason: Deployment.apps \"feedbackhub-ingest\" is invalid: spec.selector: Invalid value: ...: field is immutable (retried 5 times).\n~~~",
		},
		Impacts: []string{
			"We're stuck on 2.9.4 until this is fixed, which also blocks the TLS fixes we wanted from 3.0.",
			"Please document a zero-downtime upgrade path or keep the old selector labels.",
			"Blocking our maintenance window this weekend.",
			"Not critical yet, staging only, but production upgrade is planned for next week.",
			"Workaround (delete and recreate the Deployments) works but takes ingest down for about two minutes.",
		},
		Replies: []string{
			"Thanks. We'll wait for the fixed chart instead of deleting the Deployments by hand. Please ping me when 3.0.2 is published.",
		},
		Tracking: []string{
			"Chart 3.0.0 added app.kubernetes.io/component to spec.selector.matchLabels of the ingest and worker Deployments. Selectors are immutable, so every upgrade from 2.x fails. Fix: keep the 2.x selector, put the new label only on the pod template, release 3.0.2.",
			"Helm upgrades from 2.x to 3.0.x fail for every partner who tried; fresh installs are fine. Tracking the chart fix and an upgrade note.",
		},
		Sched: `
github contoso 0 14 10:12 tag=helm-cf-gh
github fabrikam 0 15 09:48
partners contoso 0 15 11:30 ref=helm-cf-gh
mail bluefin 0 16 18:05 tag=helm-bf-mail
partners bluefin 0 16 18:40 ref=helm-bf-mail
github bluefin 0 16 19:10 ref=helm-bf-mail
jira adatum 0 17 08:55
github northwind 1 17 14:30
jira pm - 18 10:00 tag=helm-jira st=progress
mailreply bluefin 0 21 09:10 parent=helm-bf-mail ref=helm-jira
pr mara - 19 15:45
github litware 0 21 13:25 ref=helm-jira st=closed
mail wingtip 1 22 10:40
github tailspin 0 23 12:05 st=closed
`,
	},
	{
		Label: "webhooks-timeout-corporate-proxy", Category: "connectivity", Severity: "medium",
		Summary:   "outgoing webhooks and callbacks time out behind corporate proxies (HTTPS_PROXY ignored)",
		Component: "Webhooks", GHLabels: []string{"bug", "area/webhooks", "connectivity"}, JiraLabel: []string{"proxy", "webhooks"},
		Titles: []string{
			"Webhooks time out behind our corporate proxy",
			"Agent ignores HTTPS_PROXY for webhook delivery",
			"Webhook callbacks fail with i/o timeout, proxy required for egress",
			"No way to configure an outbound proxy for notifications",
			"Webhook deliveries stuck in retry: dial tcp ...:443: i/o timeout",
			"Proxy settings not honoured by the webhook sender",
			"Webhook test button times out from our network",
			"Outbound webhooks blocked: connector bypasses {proxy}",
		},
		Openings: []string{
			"All outgoing webhooks from our self-hosted install time out. Our network only allows egress through the corporate proxy ({proxy}), and the webhook sender seems to connect directly instead of using HTTPS_PROXY.",
			"We set HTTPS_PROXY and NO_PROXY on the deployment as documented, and the ingest connection goes through the proxy fine, but webhook deliveries still try to open direct connections and hang until the timeout.",
			"The 'Send test event' button in the webhook settings spins for 30 seconds and then shows 'timeout'. From the pod, curl through the proxy reaches our endpoint instantly.",
			"Webhook delivery does not work behind a proxy. Our firewall team sees direct SYNs from the worker pods to the internet, which are dropped by policy.",
			"Is there a proxy setting for webhooks? We're behind {proxy} with TLS inspection and every delivery fails with an i/o timeout.",
			"We are seeing the webhook proxy problem too. Callbacks to our ticketing system time out; the worker pods have the proxy env vars, so I suspect the webhook HTTP client is built without ProxyFromEnvironment.",
			"Our security team requires all egress through the proxy. Ingest works, webhooks don't. Same config in staging and production.",
		},
		Details: []string{
			"~~~\n{ts} ERROR webhook: delivery failed endpoint=https://hooks.{domain}/feedbackhub attempt=5 err=\"Post \\\"https://hooks.{domain}/feedbackhub\\\": dial tcp 198.51.100.23:443: i/o timeout\"\n~~~",
			"~~~\nenv:\n  - name: HTTPS_PROXY\n    value: http://{proxy}\n  - name: NO_PROXY\n    value: .svc,.cluster.local,10.0.0.0/8\n~~~",
			"~~~\n$ kubectl exec -n feedbackhub deploy/feedbackhub-worker -- curl -sS -o /dev/null -w '%{http_code}\\n' https://hooks.{domain}/feedbackhub\n200\n~~~\n\nSo the proxy works from inside the pod; only the webhook sender ignores it.",
			"Proxy log shows no CONNECT requests from the worker pods at all, only from the ingest agent.",
		},
		Impacts: []string{
			"Our incident workflow depends on these webhooks, so right now nobody is notified.",
			"We need this before go-live; there is no way our network team will open direct egress.",
			"Low volume for now, but every failed delivery is retried 8 times and clutters the logs.",
			"Could you add an explicit proxy setting for webhooks, or honour the standard env vars?",
			"Happy to test a pre-release build.",
		},
		Replies: []string{
			"Yes, TLS inspection is on for that proxy, and we did add our root CA to the trust bundle. The ingest path works with the same bundle, so I don't think it's the CA.",
			"Any news? Our go-live rehearsal is next Tuesday and webhooks are part of the runbook.",
		},
		Tracking: []string{
			"The webhook sender builds its own http.Transport without Proxy: http.ProxyFromEnvironment, so HTTPS_PROXY/NO_PROXY are ignored for deliveries while ingest honours them. Partners who must egress through a proxy get i/o timeouts.",
			"Recurring: webhook deliveries time out for partners behind corporate proxies. Ingest works through the same proxy. Fix the transport and add a webhooks.proxy setting.",
		},
		Sched: `
mail fabrikam 1 20 10:02 tag=px-fab-mail
github adatum 0 21 13:15 tag=px-adt-gh
partners fabrikam 1 21 15:00 ref=px-fab-mail
partners adatum 0 22 08:30 tag=px-adt-ev ref=px-adt-gh
mailreply fabrikam 1 22 19:20 parent=px-fab-mail
jira fabrikam 1 23 09:15 ref=px-fab-mail
jira northwind 0 24 11:10 tag=px-nw-jira
mail litware 0 25 09:35
github northwind 1 26 10:05 ref=px-nw-jira
jira pm - 27 16:20 tag=px-jira
mail contoso 1 28 14:50
comment adatum 0 29 09:00 parent=px-adt-ev
github wingtip 1 31 11:45 ref=px-jira
mail tailspin 0 33 10:30
`,
	},
	{
		Label: "sso-saml-launch-blocked", Category: "launch-integration", Severity: "critical",
		Summary:   "SSO/SAML item of the production launch checklist blocked (assertion rejected)",
		Component: "Identity", GHLabels: []string{"launch", "area/sso"}, JiraLabel: []string{"launch-blocker", "sso"},
		Titles: []string{
			"Launch checklist blocked: SSO/SAML with {idp} fails",
			"SAML login rejected: audience mismatch (go-live {golive})",
			"Can't complete 'Enforce SSO' step of the production launch checklist",
			"Go-live at risk: SAML assertion rejected by FeedbackHub",
			"SSO enforcement fails for {idp}, launch checklist stuck at 80%",
			"InResponseTo mismatch after IdP-initiated SAML login",
			"Production launch: SAML SSO blocked, need help before {golive}",
			"SSO/SAML launch checklist blocked",
		},
		Openings: []string{
			"We are trying to finish the production launch checklist and the 'Enforce SSO' step fails. Test logins via {idp} come back with 'SAML response rejected' and the checklist won't let us continue.",
			"Our go-live is planned for {golive} and SSO is the last open item. The SAML assertion from {idp} is rejected with an audience mismatch, although we copied the Entity ID from your settings page.",
			"SAML SSO doesn't work in production. It worked in the sandbox workspace last month with the same {idp} app; the production workspace rejects every assertion.",
			"The launch checklist is blocked on SSO. When we click 'Verify SSO', the browser bounces through {idp} and lands on an error page saying the request ID does not match.",
			"IdP-initiated login from the {idp} dashboard fails, SP-initiated works sometimes. We need IdP-initiated for our users and can't enable 'Enforce SSO' until it works.",
			"Our security review requires SSO before launch. We're stuck: the SAML response is signed correctly (validated it with samltool), but FeedbackHub says the audience is wrong.",
			"Same SAML problem as described by others: the launch checklist refuses to complete the SSO step. We're on {idp}.",
		},
		Details: []string{
			"~~~\nSAML response rejected: audience restriction not satisfied: got \"https://app.feedbackhub.example/saml/metadata\", want \"https://app.feedbackhub.example/saml/{account}\"\n~~~",
			"~~~\nerror=saml_invalid_response reason=\"InResponseTo 'id-7f3c9a' does not match any outstanding request\" relay_state=/launch/checklist\n~~~",
			"- Workspace: {account} (production)\n- IdP: {idp}\n- Entity ID configured: https://app.feedbackhub.example/saml/metadata\n- ACS URL: https://app.feedbackhub.example/saml/acs",
			"Browser console on the error page:\n\n~~~\nPOST https://app.feedbackhub.example/saml/acs 403 (Forbidden)\n{\"error\":\"sso_verification_failed\",\"detail\":\"audience mismatch\"}\n~~~",
		},
		Impacts: []string{
			"This is a hard launch blocker for us: no SSO, no go-live, per our security policy.",
			"Our go-live date is {golive}. We need a fix or a documented workaround this week.",
			"Several hundred users are waiting to be onboarded once SSO is enforced.",
			"Please escalate; our executive sponsor is asking daily about the launch status.",
			"If the Entity ID format changed, the settings page should show the new value.",
		},
		Replies: []string{
			"We changed the Entity ID to the workspace-specific one you suggested and SP-initiated login works now. IdP-initiated still fails with the InResponseTo error.",
			"Any update? Our change advisory board meets on Thursday and SSO is the only red item on the launch checklist.",
			"Confirmed working after your fix this morning. We'll enforce SSO tomorrow. Thanks!",
		},
		Tracking: []string{
			"Production workspaces expect the workspace-specific SAML audience (…/saml/{account}) while the settings page still shows the generic metadata URL; IdP-initiated logins additionally fail on the InResponseTo check. Blocks the 'Enforce SSO' step of the launch checklist.",
			"Multiple design partners blocked at the SSO step of the launch checklist within two weeks, all close to their go-live dates. Needs a fix to the settings page and to IdP-initiated login.",
		},
		Updates: []string{
			"Update: our go-live has been moved to {golive} pending this fix. Raising to critical.",
		},
		Sched: `
jira contoso 1 30 09:20 tag=sso-cf-jira
mail northwind 0 31 10:45 tag=sso-nw-mail
github contoso 1 31 11:05 ref=sso-cf-jira
partners bluefin 1 32 14:10 tag=sso-bf-ev sev=high
mailreply northwind 0 33 09:05 parent=sso-nw-mail
mail wingtip 0 33 16:30
github bluefin 0 34 11:00 ref=sso-bf-ev
partners contoso 1 34 15:40 ref=sso-cf-jira
jira pm - 35 10:15 tag=sso-jira st=progress
mail fabrikam 1 36 08:50
comment bluefin 1 37 13:20 parent=sso-bf-ev
github litware 0 38 12:35 ref=sso-jira
update bluefin 1 39 10:00 parent=sso-bf-ev sev=critical
jira northwind 0 40 09:30 ref=sso-jira st=done
partners adatum 0 41 11:15
`,
	},
	{
		Label: "invoice-missing-vat-id", Category: "billing", Severity: "medium",
		Summary:   "invoices lack the customer's VAT / organisation number, rejected by AP",
		Component: "Billing", JiraLabel: []string{"billing", "invoicing", "tax"},
		Titles: []string{
			"VAT ID missing on invoice {inv}",
			"Invoices don't show our VAT number, AP rejects them",
			"Please add our organisation number to invoices",
			"Reverse-charge note and VAT ID missing on invoices",
			"Invoice rejected by our accounting: buyer VAT number missing",
			"Tax ID field in billing settings not printed on the invoice",
			"Corrected invoice needed (VAT registration number)",
		},
		Openings: []string{
			"Our accounts payable department cannot process invoice {inv} because our VAT registration number is missing. For cross-border B2B invoices we need the buyer's VAT ID and the reverse-charge note on the invoice.",
			"We entered our VAT number in the billing settings weeks ago, but the invoices still don't show it. Could you reissue the last two invoices with the VAT ID?",
			"The invoices we receive from you are missing our organisation number and VAT ID, so our finance system rejects them automatically.",
			"Hello, the October invoice ({inv}) is missing the reverse charge text and our VAT number. Without them we can't deduct the VAT and our auditors will complain.",
			"Tax ID entered in the portal but not printed on the invoice PDF. We need corrected invoices for September and October.",
			"Same request as before: please make sure the buyer VAT ID appears on every invoice, our e-invoicing gateway rejects anything without it.",
		},
		Details: []string{
			"Rejection reason from our AP system: \"BT-48 Buyer VAT identifier missing\".",
			"- Invoice: {inv}\n- Amount: {amount}\n- Billing settings: tax ID field filled in, saved on 2 October",
		},
		Impacts: []string{
			"Until we have a corrected invoice we can't pay, so please don't send a payment reminder.",
			"Month-end close is on the 5th, would be great to have it before then.",
			"This affects every invoice, so a fix in the template would help more than a one-time correction.",
			"Low priority for us technically, but finance keeps asking.",
		},
		Replies: []string{
			"Takk / thanks. The corrected invoice still shows the old address but the VAT number is there now, so that works for us.",
		},
		Tracking: []string{
			"The invoice template ignores the tax ID stored in billing settings and prints no reverse-charge note for EU/EEA B2B customers. Several partners' AP departments reject the invoices. Needs template fix and reissue.",
			"Recurring: invoices without the buyer VAT ID / organisation number; AP departments of several partners reject them.",
		},
		Sched: `
mail adatum 1 35 09:40 tag=vat-adt-mail
partners fabrikam 2 37 10:20 tag=vat-fab-ev
mail fabrikam 2 37 10:35 ref=vat-fab-ev
jira contoso 2 38 14:00
mailreply adatum 1 39 08:15 parent=vat-adt-mail
mail northwind 2 41 11:50
jira pm - 42 09:00
partners adatum 1 44 13:05 ref=vat-adt-mail
jira tailspin 1 43 10:00
mail litware 1 46 10:10
`,
	},
	{
		Label: "operator-arm64-crashloop", Category: "deployment", Severity: "high",
		Summary:   "operator image crash-loops on arm64 nodes (exec format error)",
		Component: "Operator", GHLabels: []string{"bug", "area/operator", "arm64"}, JiraLabel: []string{"arm64", "operator"},
		Titles: []string{
			"Operator pod CrashLoopBackOff on arm64 nodes: exec format error",
			"feedbackhub-operator image is amd64-only?",
			"exec /manager: exec format error on Graviton",
			"Operator doesn't start on our ARM node pool",
			"No arm64 manifest for the operator image {ver}",
			"Operator crashloop after moving to arm64 instances",
		},
		Openings: []string{
			"We moved our node pools to Graviton (arm64) and the feedbackhub-operator pod now crash-loops immediately. The agents themselves run fine on arm64, only the operator fails.",
			"The operator image for {ver} seems to be published for linux/amd64 only. On our arm64 nodes the container exits with 'exec format error' right away.",
			"After a node pool migration to ARM instances the operator is in CrashLoopBackOff. Is arm64 supported for the operator? The docs say multi-arch.",
			"Our cluster {cluster} is mixed amd64/arm64. Whenever the operator is scheduled on an arm64 node it crashes; pinning it to amd64 with a nodeSelector works around it.",
			"Operator won't start on arm64, see logs. The image manifest list only contains amd64.",
			"Same arm64 problem here with the operator on a new node group; everything else from your charts runs fine.",
		},
		Details: []string{
			"~~~\n$ kubectl -n feedbackhub logs deploy/feedbackhub-operator\nexec /manager: exec format error\n$ kubectl -n feedbackhub get pods\nNAME                                    READY   STATUS             RESTARTS      AGE\nfeedbackhub-operator-6d9c8b7f5d-x2kqp   0/1     CrashLoopBackOff   7 (41s ago)   12m\n~~~",
			"~~~\n$ docker manifest inspect ghcr.io/feedbackhub/operator:{ver} | jq '.manifests[].platform'\n{\n  \"architecture\": \"amd64\",\n  \"os\": \"linux\"\n}\n~~~",
			"Events:\n\n~~~\nWarning  BackOff  2m (x31 over 9m)  kubelet  Back-off restarting failed container manager in pod feedbackhub-operator-7f6d9c (feedbackhub/...)\n~~~",
		},
		Impacts: []string{
			"We want to retire the amd64 pool this quarter for cost reasons, so a nodeSelector is only a stopgap.",
			"Workaround with a nodeSelector is fine for now.",
			"Blocks the cost-saving migration we promised our finance team.",
			"Please publish multi-arch images for all components.",
		},
		Tracking: []string{
			"The operator image is built for linux/amd64 only (release pipeline skips buildx for the operator); agents and ingest are multi-arch. Partners on arm64 node pools see exec format error.",
			"Recurring: operator CrashLoopBackOff on arm64 nodes reported by several partners. Fix the release pipeline to publish a multi-arch manifest for the operator.",
		},
		Sched: `
github bluefin 0 5 11:30 tag=arm-bf-gh
partners bluefin 0 5 12:10 ref=arm-bf-gh
github tailspin 0 7 09:45
mail litware 0 9 08:20
jira pm - 10 11:00 tag=arm-jira st=progress
github wingtip 1 11 14:15 ref=arm-jira
jira adatum 0 12 10:30
mail contoso 0 13 16:00
partners fabrikam 0 14 09:00
github litware 0 15 10:50 st=closed
`,
	},
	{
		Label: "launch-rate-limit-429", Category: "launch-integration", Severity: "high",
		Summary:   "launch load tests hit 429 rate limits; partners need a production quota increase before go-live",
		Component: "API", GHLabels: []string{"launch", "area/api", "rate-limit"}, JiraLabel: []string{"launch-blocker", "rate-limit"},
		Titles: []string{
			"Need a rate limit increase before go-live ({golive})",
			"429 Too Many Requests during launch load test",
			"Production launch: API quota too low for our peak traffic",
			"Rate limited at 600 req/min on the events API during cutover rehearsal",
			"Launch readiness: how do we request higher API limits?",
			"Retry-After headers of 60s break our launch traffic pattern",
			"Go-live load test fails with HTTP 429",
		},
		Openings: []string{
			"We ran our go-live rehearsal yesterday and about 30% of requests to the events API came back with 429 Too Many Requests. Our expected peak after launch is roughly 3x what we sent in the test.",
			"Our launch is on {golive}. The load test against the production workspace gets rate limited at around 600 requests per minute, which is far below what we need on launch day.",
			"Is there a process to raise the API rate limits for production launch? The launch checklist mentions 'capacity review' but there is no form or contact for it.",
			"During the cutover rehearsal our integration was throttled with 429s and Retry-After: 60. A 60 second pause is not acceptable for our checkout flow.",
			"We're getting HTTP 429 from the API under a load test that simulates launch day. Could you increase our quota or tell us what the real limits are per workspace?",
			"Same as other partners: rate limits hit during launch preparation. We need a temporary increase for the launch week at least.",
		},
		Details: []string{
			"~~~\nHTTP/1.1 429 Too Many Requests\nRetry-After: 60\nX-RateLimit-Limit: 600\nX-RateLimit-Remaining: 0\nX-RateLimit-Reset: 1793002860\n{\"error\":\"rate_limited\",\"message\":\"workspace {account} exceeded 600 requests per minute\"}\n~~~",
			"k6 summary from the rehearsal:\n\n~~~\nhttp_reqs......................: 41822  697.0/s\nhttp_req_failed................: 31.42% ✓ 13141  ✗ 28681\nstatus 429.....................: 13141\n~~~",
			"- Expected peak: ~2,000 requests/minute for 3 hours\n- Current limit: 600/minute\n- Workspace: {account}",
		},
		Impacts: []string{
			"This is on our launch readiness list as a blocker; go/no-go is next week.",
			"We can batch some calls, but not enough to stay under 600/minute.",
			"A temporary limit for the launch window would be enough.",
			"Please also document the limits; we had to find them by testing.",
		},
		Replies: []string{
			"Thanks, the increase to 2,000/min is visible in the headers now. We'll rerun the rehearsal on Thursday.",
		},
		Tracking: []string{
			"Partners preparing production launches hit the default 600 req/min workspace limit in their load tests. There is no documented way to request a launch quota; the launch checklist mentions a capacity review without a process behind it.",
			"Recurring launch blocker: 429s during go-live rehearsals. Proposal: a 'launch window' quota request in the checklist and documented per-plan limits.",
		},
		Sched: `
mail contoso 0 40 09:15 tag=rl-cf-mail
partners contoso 0 40 09:50 ref=rl-cf-mail
github wingtip 1 42 13:30
jira tailspin 0 43 10:05
mailreply contoso 0 43 17:20 parent=rl-cf-mail
github northwind 1 44 11:40
jira pm - 45 09:45 tag=rl-jira
mail bluefin 1 46 15:10
partners fabrikam 1 47 10:25
github contoso 0 48 12:00 ref=rl-jira st=closed
jira litware 0 49 15:30
mail adatum 0 50 09:05
`,
	},
	{
		Label: "privatelink-dns-resolution", Category: "connectivity", Severity: "high",
		Summary:   "private endpoint / PrivateLink hostnames resolve to public IPs, connections refused",
		Component: "Networking", GHLabels: []string{"connectivity", "area/networking"}, JiraLabel: []string{"connectivity", "private-link"},
		Titles: []string{
			"Private endpoint hostname resolves to public IP",
			"PrivateLink: ingest-private.{region}.feedbackhub.example NXDOMAIN from VPC",
			"DNS for the private endpoint broken after zone change",
			"Connection refused via PrivateLink, DNS returns public address",
			"Private connectivity: split-horizon DNS not working",
			"Can't reach ingest over private endpoint since Friday",
		},
		Openings: []string{
			"Our agents use the private endpoint, and since Friday the private hostname resolves to your public IPs from inside our VPC. Public egress is blocked for those subnets, so all connections are refused.",
			"We set up PrivateLink following the docs, but ingest-private.{region}.feedbackhub.example returns NXDOMAIN from our resolvers. The endpoint itself is 'available' in the console.",
			"Since your DNS change last week, the private endpoint name resolves to public addresses instead of the interface endpoint IPs in our VPC.",
			"DNS for the private ingest endpoint looks wrong: the CNAME points to a public load balancer. Was the private hosted zone changed?",
			"Same private endpoint DNS issue here; our resolver forwards to the VPC resolver and gets the public address.",
		},
		Details: []string{
			"~~~\n$ dig +short ingest-private.{region}.feedbackhub.example\ningest-pub-lb-1944.{region}.elb.example.\n203.0.113.71\n203.0.113.72\n$ nc -vz -w 5 ingest-private.{region}.feedbackhub.example 443\nnc: connect to ingest-private.{region}.feedbackhub.example port 443 (tcp) failed: Connection refused\n~~~",
			"~~~\n;; ->>HEADER<<- opcode: QUERY, status: NXDOMAIN, id: 41730\n;; QUESTION SECTION:\n;ingest-private.{region}.feedbackhub.example. IN A\n~~~",
			"Expected: {ip} (our interface endpoint). Got: public addresses.",
		},
		Impacts: []string{
			"All shipping from the private subnets is down, buffers are filling.",
			"Our compliance setup requires private connectivity; we can't fall back to the public endpoint.",
			"Please check the private hosted zone configuration on your side.",
			"We added a static hosts entry as a stopgap, but that won't survive your next IP change.",
		},
		Replies: []string{
			"Resolution looks correct again since this morning. Could you share what changed, so we can add a check to our monitoring?",
		},
		Tracking: []string{
			"A DNS zone migration removed the private-endpoint records from the private hosted zone association; partner VPC resolvers now get the public CNAME or NXDOMAIN. Affects every partner on PrivateLink.",
			"Recurring: private endpoint DNS resolves to public IPs / NXDOMAIN for several partners since the zone migration.",
		},
		Sched: `
mail adatum 0 44 10:20 tag=pl-adt-mail
partners adatum 0 44 10:45 ref=pl-adt-mail
jira bluefin 0 46 14:30 tag=pl-bf-jira
partners bluefin 0 46 14:50 ref=pl-bf-jira
github contoso 0 47 09:55
mailreply adatum 0 48 08:40 parent=pl-adt-mail
jira pm - 49 11:20 tag=pl-jira st=done
github northwind 1 50 13:10 ref=pl-jira
mail wingtip 1 52 10:00
`,
	},
	{
		Label: "terraform-provider-perpetual-diff", Category: "deployment", Severity: "low",
		Summary:   "Terraform provider shows a perpetual diff on feedbackhub_workspace.settings",
		Component: "Terraform provider", GHLabels: []string{"bug", "area/terraform"}, JiraLabel: []string{"terraform"},
		Titles: []string{
			"terraform plan always shows changes for feedbackhub_workspace",
			"Perpetual diff on retention_days after apply",
			"Provider 0.9.x: settings block never converges",
			"feedbackhub_workspace.settings drifts on every plan",
			"Terraform provider reorders allowed_domains, causing drift",
		},
		Openings: []string{
			"Every terraform plan shows an in-place update for our feedbackhub_workspace resource even right after an apply. The diff is in the settings block: allowed_domains gets reordered and retention_days flips between 30 and \"30\".",
			"The provider never converges for us: apply succeeds, the next plan wants to change the same attributes again. This breaks our drift detection job, which pages on any diff.",
			"We're seeing a permanent diff with the Terraform provider on the workspace settings. Looks like the API returns allowed_domains sorted and the provider compares it as an ordered list.",
			"Same perpetual diff with the Terraform provider here; our CI drift check fails every night since we adopted it.",
			"Terraform keeps wanting to update feedbackhub_workspace.settings. Not harmful, but noisy, and we can't use the plan as a gate.",
		},
		Details: []string{
			"~~~\n  # feedbackhub_workspace.main will be updated in-place\n  ~ resource \"feedbackhub_workspace\" \"main\" {\n        id   = \"ws_{n}\"\n      ~ settings {\n          ~ allowed_domains = [\n              - \"{domain}\",\n                \"mail.{domain}\",\n              + \"{domain}\",\n            ]\n            # (3 unchanged attributes hidden)\n        }\n    }\n\nPlan: 0 to add, 1 to change, 0 to destroy.\n~~~",
			"Provider version 0.9.2, Terraform 1.9.5.",
		},
		Impacts: []string{
			"Low priority, we ignore_changes it for now.",
			"Annoying rather than blocking.",
			"Please treat allowed_domains as a set.",
		},
		Tracking: []string{
			"The provider models allowed_domains as a list while the API returns it sorted; retention_days is read back as a string. Both cause perpetual diffs.",
			"Several partners report a perpetual Terraform diff on workspace settings.",
		},
		Sched: `
github litware 0 24 10:35 tag=tf-lw-gh
github wingtip 1 26 15:50 ref=tf-lw-gh
mail northwind 1 29 09:25 ref=tf-lw-gh
jira fabrikam 0 31 13:00
github adatum 0 33 14:45
github tailspin 0 34 11:15 st=closed
`,
	},
	{
		Label: "usage-dashboard-invoice-mismatch", Category: "billing", Severity: "medium",
		Summary:   "usage dashboard event counts don't match the overage billed on the invoice",
		Component: "Billing", JiraLabel: []string{"billing", "usage"},
		Titles: []string{
			"Usage dashboard and invoice disagree on overage",
			"Billed for 14.2M events, dashboard shows 9.8M",
			"Overage charge doesn't match usage page",
			"Which number is right: usage dashboard or invoice?",
			"Usage metering discrepancy in October",
		},
		Openings: []string{
			"Our October invoice includes an overage charge for 4.4M events above the plan, but the usage dashboard shows we stayed below the included volume for the whole month.",
			"The usage numbers on the dashboard and the overage on invoice {inv} don't match. Could someone explain how the billed volume is calculated?",
			"We monitor our event volume closely because of the overage pricing, and the invoice is about 40% higher than what the usage page reported at month-end.",
			"Finance noticed the overage on the last invoice doesn't line up with the usage dashboard export. Do retries or rejected events count towards the billed volume?",
			"Same question others had: our usage dashboard and the overage billed are far apart.",
		},
		Details: []string{
			"Dashboard (1–31 Oct): 9,812,440 events. Invoice {inv}: 14,203,118 events, overage 4.2M × rate.",
			"CSV export of the usage page attached in our helpdesk ticket; daily totals never exceed 420k.",
		},
		Impacts: []string{
			"We'd like a corrected invoice or an explanation before we pay.",
			"If retries are billed, that should be documented.",
			"Not disputing yet, just want to understand the numbers.",
		},
		Replies: []string{
			"So retried batches count twice on the invoice but once on the dashboard? Then the dashboard is misleading; please fix one or the other and credit us the difference.",
		},
		Tracking: []string{
			"Billing meters count accepted events including agent retries; the usage dashboard deduplicates by batch id. Overage invoices are higher than the dashboard for partners with retry storms.",
			"Several partners question overage charges that don't match the usage dashboard.",
		},
		Sched: `
partners bluefin 1 46 09:10 tag=us-bf-ev
mail bluefin 1 46 09:30 tag=us-bf-mail ref=us-bf-ev
jira contoso 2 48 11:15
partners contoso 2 49 09:20
mailreply bluefin 1 49 10:40 parent=us-bf-mail
jira tailspin 1 50 14:20
mail wingtip 0 53 16:45
`,
	},
	{
		Label: "launch-backfill-import-stalls", Category: "launch-integration", Severity: "high",
		Summary:   "historical backfill before production cutover stalls at a fixed offset",
		Component: "Import", GHLabels: []string{"launch", "area/import"}, JiraLabel: []string{"import", "launch-blocker"},
		Titles: []string{
			"Backfill import stalls at 62% before production cutover",
			"Historical data import for go-live stuck at the same offset",
			"Bulk import job never finishes (cutover blocked)",
			"Import API stops accepting pages after ~2.1M records",
		},
		Openings: []string{
			"For our production cutover on {golive} we need to backfill two years of history. The bulk import job always stalls at about 62% (2.1M of 3.4M records) and then sits in 'running' forever.",
			"The historical import we need for launch doesn't complete. Resuming the job restarts from the same page and stalls again at the same offset.",
			"Our launch plan has a backfill step with the bulk import API. It stops making progress after roughly two million records without an error.",
		},
		Details: []string{
			"~~~\n{ts} import job imp_{n}: page 2104 accepted (1000 records)\n{ts} import job imp_{n}: page 2105 waiting for ack\n... no further progress, status=running, last_heartbeat 3h ago\n~~~",
		},
		Impacts: []string{
			"Cutover is blocked until the history is in; we can't start with an empty workspace.",
			"We can split the import, but need to know whether data after the stall point is lost.",
			"Please look at it before our go/no-go meeting.",
		},
		Replies: []string{
			"We split the file into 500k chunks as suggested and the first four went through. The chunk starting at record 2,104,000 stalls again though, so it may be a specific record.",
		},
		Tracking: []string{
			"The bulk import worker stalls on a page containing a record with an oversized attachment reference; the page is never acked and the job heartbeats stop. Blocks partner cutovers.",
			"Two partners blocked on backfill imports before launch.",
		},
		Sched: `
mail adatum 0 16 11:05 tag=bfi-adt-mail
jira pm - 17 09:35 for=adatum ref=bfi-adt-mail st=progress
mailreply adatum 0 18 10:10 parent=bfi-adt-mail
github tailspin 0 22 14:40
partners adatum 0 16 11:30 ref=bfi-adt-mail
jira tailspin 0 23 09:10
`,
	},
	{
		Label: "egress-ip-allowlist-change", Category: "connectivity", Severity: "high",
		Summary:   "callbacks blocked by partner firewalls after the vendor's egress IPs changed",
		Component: "Networking", GHLabels: []string{"connectivity", "area/networking"}, JiraLabel: []string{"allowlist", "connectivity"},
		Titles: []string{
			"Callbacks blocked after your egress IPs changed",
			"New source IPs for webhooks not announced, firewall drops them",
			"Where is the current list of FeedbackHub egress IP ranges?",
			"Our allowlist stopped matching your outbound traffic on Tuesday",
			"Webhook source IP 192.0.2.x not in the published ranges",
			"Firewall blocks FeedbackHub callbacks since the weekend",
		},
		Openings: []string{
			"Since Tuesday our firewall drops the callbacks from FeedbackHub. The source addresses are no longer in the IP ranges listed in your docs, and we only allow those.",
			"Your outbound traffic started coming from new IP addresses without any announcement. Our perimeter team allowlists by source IP, so everything is blocked now.",
			"Is there a machine-readable list of your egress IP ranges? The docs page still shows the old /28 and the traffic comes from somewhere else.",
			"We noticed rejected connections from 192.0.2.0/24 in our firewall logs, which appear to be your new egress range. Can you confirm, and notify us before future changes?",
			"The egress IP change hit us as well. Callbacks to {host} fail since the weekend.",
			"Please publish egress changes in advance. We found out through failing callbacks after our firewall silently dropped them.",
		},
		Details: []string{
			"~~~\n{ts} fw01 DROP TCP 192.0.2.18:44122 -> {ip}:443 rule=inbound-allow-feedbackhub (no match)\n{ts} fw01 DROP TCP 192.0.2.19:50810 -> {ip}:443 rule=inbound-allow-feedbackhub (no match)\n~~~",
			"Documented ranges: 198.51.100.96/28. Observed sources: 192.0.2.16/28.",
		},
		Impacts: []string{
			"Change requests for the firewall take us 3 business days, so we need notice.",
			"All callbacks are failing in production right now.",
			"We'd like to subscribe to a change notification feed.",
			"A JSON endpoint with the current ranges would let us automate this.",
		},
		Replies: []string{
			"Allowlist updated on our side and callbacks are flowing again. Please do announce the next change.",
		},
		Tracking: []string{
			"The NAT gateway migration moved outbound traffic to 192.0.2.16/28; docs and the status page still list 198.51.100.96/28. Partners who allowlist by source IP drop our callbacks.",
			"Recurring: partners' firewalls drop callbacks after the egress IP change. Publish the ranges (JSON), announce changes 30 days ahead.",
		},
		Sched: `
jira bluefin 0 36 09:40 tag=eg-bf-jira
partners bluefin 0 36 10:05 ref=eg-bf-jira
mail contoso 0 37 08:30 tag=eg-cf-mail
github fabrikam 0 37 14:15
mail northwind 0 38 09:10
mailreply contoso 0 39 11:30 parent=eg-cf-mail
jira pm - 39 15:00 tag=eg-jira st=done
partners adatum 0 40 12:20
github wingtip 1 41 10:45 ref=eg-jira
`,
	},
	{
		Label: "launch-webhook-signature-verify", Category: "launch-integration", Severity: "high",
		Summary:   "partners' launch integrations can't verify webhook signatures (body re-serialised, timestamp)",
		Component: "Webhooks", GHLabels: []string{"launch", "area/webhooks"}, JiraLabel: []string{"launch-blocker", "webhooks"},
		Titles: []string{
			"Webhook signature verification fails in our launch integration",
			"webhook-signature header doesn't match our HMAC",
			"Signature mismatch when verifying FeedbackHub webhooks (Standard Webhooks)",
			"Integration go-live: can't validate webhook signatures",
			"Which bytes are signed? Verification fails for events with unicode",
			"Timestamp tolerance rejects valid webhooks in our integration",
		},
		Openings: []string{
			"Our production integration verifies the webhook-signature header as described in the docs, and about 10% of deliveries fail verification. All failing ones contain non-ASCII characters in the body.",
			"We are finishing the integration for our launch and can't get signature verification to pass. We compute HMAC-SHA256 over id.timestamp.body with the secret from the settings page, base64-encoded, and it never matches.",
			"Signature verification of your webhooks fails in our Node.js service. Could it be that the body is re-serialised after signing? Our framework parses JSON before we see the raw body, and we re-stringify it.",
			"The launch checklist requires verified webhooks, but verification fails intermittently with 'timestamp too old'. Our servers are NTP-synced, so maybe retries reuse the original timestamp?",
			"Same webhook signature problem as other partners, in our Java integration. Failing events all have umlauts in the title.",
		},
		Details: []string{
			"~~~\nexpected v1,K7gNU3sdo+OL0wNhqoVWhr3g6s1xYv72ol/pe/Unols=\nreceived v1,3q2+7wL9Rb1nGd+Kx0eQn8ZyVgTTm2mJc1bR0XuY3aQ=\nwebhook-id: msg_{n}\nwebhook-timestamp: 1792144822\n~~~",
			"- Secret: whsec_… from the webhook settings (base64 part decoded before use)\n- Library: standardwebhooks 1.0.0\n- Failing rate: ~10%",
		},
		Impacts: []string{
			"Our launch checklist requires signature verification, so we can't go live without it.",
			"We had to disable verification in staging, which our security review won't accept for production.",
			"A reference implementation or test vectors would help a lot.",
		},
		Replies: []string{},
		Tracking: []string{
			"Partners' signature verification fails for bodies with non-ASCII characters: the sender signs the JSON with escaped unicode but sends the unescaped form. Retries also re-send the original timestamp. Blocks launch integrations.",
			"Recurring: webhook signature verification failures in partners' launch integrations.",
		},
		Sched: `
github fabrikam 1 25 10:20 tag=sig-fab-gh
partners fabrikam 1 25 10:45 ref=sig-fab-gh
mail wingtip 0 27 13:05
jira contoso 0 28 09:50
partners contoso 0 28 10:10
jira pm - 29 10:40 st=progress
github bluefin 0 30 15:20
mail litware 0 32 11:00
`,
	},
	{
		Label: "db-migration-lock-timeout-upgrade", Category: "deployment", Severity: "medium",
		Summary:   "self-hosted upgrade to 2.14 hangs in a database migration (lock timeout)",
		Component: "Database", GHLabels: []string{"bug", "area/migrations"}, JiraLabel: []string{"migrations", "upgrade"},
		Titles: []string{
			"Upgrade to 2.14 hangs in migration 0087 (lock timeout)",
			"Migration job fails: canceling statement due to lock timeout",
			"feedbackhub migrate stuck on ALTER TABLE events",
			"Pre-upgrade migration hook times out on large events table",
			"2.14 migration blocks writes for 20+ minutes",
		},
		Openings: []string{
			"The pre-upgrade migration job for 2.14 runs into a lock timeout on the events table and the helm hook fails. Our events table has about 180M rows.",
			"Upgrading our self-hosted instance to 2.14, the migration 0087_events_add_partner_idx hangs and eventually fails with a lock timeout. Ingest was blocked while it waited.",
			"feedbackhub migrate gets stuck at ALTER TABLE events. It looks like the index is created without CONCURRENTLY, so it needs an exclusive lock that it never gets while ingest is writing.",
			"The 2.14 upgrade migration locks the events table for a long time. We had to stop ingest to get it through, which isn't acceptable for the production upgrade.",
			"Same migration lock timeout as reported by others when upgrading to 2.14 on PostgreSQL 15.",
		},
		Details: []string{
			"~~~\n{ts} migrate: applying 0087_events_add_partner_idx\n{ts} migrate: ERROR: canceling statement due to lock timeout (SQLSTATE 55P03)\n{ts} migrate: STATEMENT: ALTER TABLE events ADD COLUMN partner_id text; CREATE INDEX events_partner_idx ON events (partner_id);\nError: job failed: BackoffLimitExceeded\n~~~",
			"PostgreSQL 15.6 (RDS), events table 180M rows / 210 GB.",
		},
		Impacts: []string{
			"We need an online migration path for the production upgrade.",
			"Staging is fine after stopping ingest, production can't afford that.",
			"Please split the migration and create the index concurrently.",
		},
		Tracking: []string{
			"Migration 0087 adds a column and creates an index on events in one transaction without CONCURRENTLY; on large tables it waits for an exclusive lock and hits lock_timeout while ingest writes.",
			"Several self-hosted partners stuck on the 2.14 migration lock timeout.",
		},
		Sched: `
github northwind 1 45 10:10 tag=mig-nw-gh
jira adatum 0 46 09:20
github litware 0 47 11:35 ref=mig-nw-gh
mail fabrikam 0 48 10:05
jira pm - 49 09:15 st=todo
github tailspin 0 51 16:20
partners contoso 0 52 08:40
jira wingtip 1 50 10:20
`,
	},
	{
		Label: "none", Category: "other", Severity: "low",
		Summary: "not feedback: the dependabot pull request",
		Sched: `
pr bot - 20 06:12
`,
	},
}
