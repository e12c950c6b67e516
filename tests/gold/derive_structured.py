"""Derive gold labels for the structured public postmortems from their own sections.

Run from the project root:

    .venv/bin/python tests/gold/derive_structured.py

It copies each report from ``/work/shared/corpora/structured/`` (DFDS, mybinder, PostHog: MIT and
BSD-3-Clause, notices in ``tests/gold/texts/LICENSE-*.txt``) into ``tests/gold/texts/`` and writes
one JSON label file per report into ``tests/gold/labels/``. Labels come from each report's own
structure, never from the extractor being measured:

* timeline: rows of a ``Timeline`` table, ``### time`` sub-headings (the first sentence of the
  paragraph below), ``- **16:58 UTC** - ...`` bullets; ISO times from the written date and time
  in the zone the report states ("All times in UTC.");
* causes: items of "Contributing Factors" / "Root Cause" sections, plus the cause sentences of the
  other sections found by reading (``CAUSES_BY_MEANING``: DFDS, and every mybinder report);
* actions: items of "Action Items" / "Remediation" sections, status from what the report marks
  ("(done)", "(Completed)" headings, "planned or in-progress" headings), else ``planned``;
* impacts: items of "Impact" sections.

Label files with ``"method": "hand"`` are written by a person and never overwritten. ``FIXES``
holds the corrections made after reading each derived file.
"""

from __future__ import annotations

import json
import re
import shutil
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

SOURCE = Path("/work/shared/corpora/structured")
GOLD = Path(__file__).resolve().parent
TEXTS = GOLD / "texts"
LABELS = GOLD / "labels"

ORGANIZATIONS = {
    "dfds": ["DFDS"],
    "mybinder": ["mybinder.org", "Binder", "mybinder", "JupyterHub", "Project Jupyter"],
    "posthog": ["PostHog"],
}
ZONES = {"utc": 0, "gmt": 0, "pst": -480, "pdt": -420, "cet": 60, "cest": 120}
_MONTH_NAMES = "jan feb mar apr may jun jul aug sep oct nov dec".split()
MONTHS = {m: i + 1 for i, m in enumerate(_MONTH_NAMES)}

CAUSE_TITLE = re.compile(
    r"contributing factors?|root causes?|^causes?$|why did it happen|how did it happen|"
    r"the technical problem|why it failed|primary issue|secondary issue",
    re.IGNORECASE,
)
ACTION_TITLE = re.compile(
    r"action items?|remediation|corrective actions?|follow[- ]?ups?|preventing it|next steps|"
    r"immediate actions?|improvements|planned actions",
    re.IGNORECASE,
)
IMPACT_TITLE = re.compile(r"\bimpact\b", re.IGNORECASE)
TIMELINE_TITLE = re.compile(r"timeline", re.IGNORECASE)
STOP_TITLE = re.compile(
    r"lessons|went well|went wrong|got lucky|went poorly|didn'?t go well|could have gone|"
    r"takeaways|attendees|stats|summary|insights|reflections|moving forward|what should you do|"
    r"hard to detect|wasn'?t caught|appendix|stage \d|investigation|conclusion|scope|"
    r"data integrity",
    re.IGNORECASE,
)

# Corrections after reading the derived labels: path -> {field: {index or text: change}}.
_TEMPLATE = [
    "These are only sample subheadings.",
    "Every action item should have a GitHub issue\n(even a small skeleton of one) attached to it, "
    "so these do not get forgotten.",
]
FIXES: dict[str, dict] = {
    "structured/dfds/PM2024-002-pods-not-able-to-start-while-being-moved-to-new-nodes-during-"
    "ami-update.md": {
        "action_status": {
            "We tweaked/adjusted the internal Registry pull limit/Quota (QPS) on Kubernetes "
            "level": "done",
            "We've advised the Teams to adjust their deployments not to use Single "
            "Replicas": "done",
        },
    },
    "structured/dfds/PM2019-010-hellman-kubernetes-cluster-node-deletion.md": {
        "action_status_prefix": {"**Implement least-privilege": "in_progress"},  # "working on"
    },
    "structured/dfds/PM2022-007-kafka-metrics-stopped-being-exported-to-prometheus.md": {
        "action_status_prefix": {"Service account with ACLs": "done"},  # "has been documented"
    },
    "structured/mybinder/2017-09-29-504.md": {
        "drop_actions": [
            "The primary cause of these issues is the loss of events on the KubeSpawner "
            "PodReflector.\nhttps://github.com/jupyterhub/kubespawner/pull/81 fixes at least one "
            "known case.",
        ],
    },
    "structured/mybinder/2018-02-20-jupyterlab-announcement.md": {
        "drop_actions": ["cull_idle_servers:"],
        "action_status_prefix": {"separate rejection code": "done"},  # "we already do this"
    },
    "structured/mybinder/2018-07-08-podsnips-aplenty.md": {"drop_actions": _TEMPLATE},
    "structured/mybinder/2018-07-30-jupyterlab-build-cpu-saturate.md": {"drop_actions": _TEMPLATE},
    "structured/mybinder/2019-04-03-ingress-cordoned.md": {"drop_actions": _TEMPLATE},
    "structured/mybinder/2018-01-18-ssl-outdated.md": {"date_range": ["2018-01-11", "2018-01-19"]},
    "structured/mybinder/2020-07-09-simultaneous-launches-scipy.md": {
        "drop_actions": [
            "If we limit to only the 99th percentile of successful launches, we see that launches "
            "_almost never_ take longer than 5 minutes and then succeed:",
            "If we decrease the launch timeout to 5 minutes, this will likely increase our failure "
            "rate, _according to metrics_, but should clear out the queue of what are likely "
            "already failed launches _according to users_.",
            "The result should be a better experience.",
            "[issue](https://github.com/jupyterhub/mybinder.org-deploy/issues/1528).",
        ],
        "action_status_prefix": {"Use in-progress metrics": "done"},  # "_done in grafana_"
    },
}


# Causes stated outside the "Contributing Factors" section (the rule in tests/gold/README.md,
# "What counts as a cause"): sentences of the Summary and other prose sections that say what
# caused, triggered or contributed to the incident, found by reading every DFDS report (dev and
# heldout) on 2026-11-23. path -> [(kind, exact text)]; written with "added": "summary-rule".
CAUSES_BY_MEANING: dict[str, list[tuple[str, str] | tuple[str, str, int]]] = {
    "structured/dfds/PM2019-009-kubernetes-network-infrastructure-ip-starvation.md": [
        (
            "trigger",
            "On Friday 29 November 2019, we proactively scaled the amounts of "
            "worker nodes in the cluster to increase capacity of possible "
            "deployments to be scheduled, in anticipation of teams migrating from "
            "our old Prod and NonProd clusters to the new Hellman cluster. This "
            "increase would turn out to push the network architecture and design of "
            "our cluster to the limit.",
        ),
    ],
    "structured/dfds/PM2019-010-hellman-kubernetes-cluster-node-deletion.md": [
        (
            "trigger",
            "On Wednesday 4 December 2019, an accidental execution of a Kubernetes "
            "command deleted all the worker nodes from Kubernetes cluster state.",
        ),
        (
            "contributing",
            "A lack of Priority-classes and the IP starvation issue in the cluster "
            "resulted in further complications.",
        ),
        (
            "contributing",
            "After the cluster in effect was up and operational, the lack of "
            "priority for service critical workloads such as KIAM resulted in some "
            "workloads not being operational even though the pods themselves where "
            "up and running.",
        ),
        (
            "contributing",
            "While re-provisioning the nodes in the cluster, a previously unfelt "
            "issue arose when system critical workloads where not scheduled on the "
            "new nodes due to resource starvation in the form of IP address "
            "limitations.",
        ),
    ],
    "structured/dfds/PM2019-011-hellman-kubernetes-iac-accidentally-reverted.md": [
        (
            "trigger",
            "These manual changes where then supposed to aligned in our IaC later "
            "the same day by our team in Denmark, however when to old settings "
            "where committed to a branch and a pull request where readied, the IaC "
            "pipeline was unintentionally triggered.",
        ),
        (
            "root_cause",
            "The trigger was a result of the default settings in our pipeline "
            "provider Azure DevOps. If you don't explicitly turn it off, any pull "
            "request will trigger the pipeline to run.",
        ),
        (
            "trigger",
            "This unintentional execution of the pipeline reverted all changes made "
            "by the US team during the night, putting the cluster back into the "
            "same bad state as described in the [PM2019-009][PM2019-009] "
            "postmortem.",
        ),
    ],
    "structured/dfds/PM2020-002-kiam-service-disruption-on-hellman.md": [
        (
            "root_cause",
            "In the afternoon of January 21st, the server certificate for KIAM - a "
            "service that assumes AWS IAM roles from pods - expired, causing its "
            "service to be disrupted.",
        ),
    ],
    "structured/dfds/PM2020-003-postmortem-for-adsync-migration.md": [
        (
            "root_cause",
            "The initial analysis for migrating ADSync from .NET classic to .NET "
            "core failed to predict a number of issues with third party components "
            "(TopShelf/Serilog/Cake) and our legacy pipeline could not handle the "
            "conventions for variable substitution in MS v. 2.0 DevOps tasks.",
        ),
        (
            "root_cause",
            "Furthermore OAuth authorization was more or less disabled by changes "
            "to the capability-services ingress controller added in this commit @ "
            "https://github.com/dfds/capability-service/commit/"
            "dbda32b5d823ab9c220b3fbc906b73decaab22dc#diff-"
            "ac6b62a73dd8a93cecbe56751092c43e, "
            "which caused the self-service solution as a whole to not work as "
            "expected because capability-service was no longer able to process "
            "oAuth tokens.",
        ),
    ],
    "structured/dfds/PM2020-004-coredns-upgrade-issue.md": [
        (
            "trigger",
            "On Monday 3. February 2020, a planned upgrade of the Hellman "
            "Kubernetes cluster from version 1.13 to 1.14 caused a minor DNS "
            "related issue.",
        ),
        (
            "root_cause",
            "These vendor specific changes, when not implemented at the time of "
            "upgrade, caused the CoreDNS service to fail and crash-loop.",
        ),
    ],
    "structured/dfds/PM2020-005-alb-instance-attachment.md": [
        (
            "trigger",
            "On Tuesday 9th of June 2020, a planned maintenance for the Hellman "
            "Kubernetes cluster related to seperate auto-scaling groups per "
            "availability zone caused the ALB's (AWS Application LoadBalancer), "
            "both the authenticated and not authenticated one, to remove all "
            "attached instance i.e. Kubernetes worker nodes.",
        ),
    ],
    "structured/dfds/PM2020-006-adsync-service-accounts.md": [
        (
            "root_cause",
            "During the initial implementation of our ADSync service account "
            "feature we had some bugs in our code and a AD policy that would expire "
            "said service accounts after a given period of time.",
        ),
        (
            "root_cause",
            "Over time more and more teams started using our capability concept, "
            "including the service account feature, we noticed another problem with "
            "the current sync algorithm (we don't do diffsync, yet!) which would "
            'cause random services to experience "access denied" disruptions as the '
            "service account was deleted temporarily by ADSync and re-added a "
            "moment later with a fresh credential pair.",
        ),
    ],
    "structured/dfds/PM2020-007-unhealthy-nodes.md": [
        (
            "contributing",
            "We saw high memory usage on the node, in particular high usage from "
            "the Prometheus service (12 GB).",
        ),
    ],
    "structured/dfds/PM2020-008-alcide-admission-causing-kubernetes-timeouts.md": [
        (
            "trigger",
            "While having an Alcide workshop an admission controller was applied "
            "with the understanding that it wouldn't be disruptive. But it "
            "unfortunately was, causing all create and update operations on mainly "
            'deployments (but also apiGroups: ["", "apps", "batch", "extensions"]) '
            "to timeout.",
        ),
    ],
    "structured/dfds/PM2020-009-kiam-service-disruption-due-to-upgrade.md": [
        (
            "contributing",
            "The new Helm chart used [more inclusive naming][kiam-pr], changing one "
            "of the KIAM argument names from `WhitelistRouteRegexp` to "
            "`AllowRouteRegexp`. This means part of our configuration, necessary to "
            "support AWS PowerShell cmdlets, was now being ignored.",
        ),
        (
            "contributing",
            "Unfortunately we failed to verify that KIAM was actually running in "
            "the sandbox environment.",
        ),
        (
            "root_cause",
            "Upon closer inspection, the KIAM agents were crashing, because the new "
            "argument name passed by the updated Helm chart, was not actually known "
            "to any releases of KIAM at the time.",
        ),
    ],
    "structured/dfds/PM2021-001-logs-from-kubernetes-not-shipped-to-cwl.md": [
        (
            "trigger",
            "To support this the annotations of the `kube-system` namespace, now "
            "managed by Infrastructure-as-Code (or IaC), was modified, accidentally "
            "overwriting existing annotations. The overwritten annotations were "
            "necessary to allow FluentD, our logshippper, to ship logs to "
            "CloudWatch Logs (or CWL).",
        ),
    ],
    "structured/dfds/PM2021-002-flux-version-bump-causing-component-downtime.md": [
        (
            "trigger",
            "An unintentional version update to the GitOps component (Flux) was "
            "detected and caused a teardown and re-apply of the component causing "
            "the logshipper (fluentd) to be deleted completely from the cluster.",
        ),
    ],
    "structured/dfds/PM2021-003-flux-version-bump-causing-component-downtime.md": [
        (
            "trigger",
            "An unintentional version update to the GitOps component (Flux) was "
            "detected and caused a teardown and re-apply of the component causing "
            "the logshipper (fluentd) to be deleted completely from the cluster.",
        ),
    ],
    "structured/dfds/PM2021-004-adfs-outage.md": [
        (
            "root_cause",
            "On Wednesday 31st March, the token signing and token decryption "
            "certificates applied to ADFS expired.",
        ),
    ],
    "structured/dfds/PM2021-005-all-services-returning-503-in-kubernetes.md": [
        (
            "trigger",
            "On Tuesday 22nd June 2021, changes to the VPC CNI caused target groups "
            "to become detached from the ALB.",
        ),
        (
            "root_cause",
            "The changes to the VPC CNI were caused by refactoring and cleanup "
            "intended to allow EKS add-ons to be managed by native Terraform "
            "instead of kubectl.",
        ),
    ],
    "structured/dfds/PM2021-006-all-services-returning-503-in-kubernetes.md": [
        (
            "contributing",
            "A poor release strategy meant that a change which would have mitigated "
            "the issue seen was not put into production.",
        ),
    ],
    "structured/dfds/PM2021-007-all-services-returning-503-in-kubernetes.md": [
        (
            "trigger",
            "Investigations showed that the issue had started on June 15, and this "
            "coincided with an update to the Terraform AWS provider used.",
        ),
        (
            "root_cause",
            "The provider behavior changed,\nand this led to tearing down the "
            "association between the load balancer and the target groups.",
        ),
    ],
    "structured/dfds/PM2021-008-kubernetes-ingress-"
    "controller-traefik-v2-configuration-caused-outage.md": [
        (
            "root_cause",
            'A misconfiguration didn\'t allow insecure headers ("X-FORWARDED-") to '
            "be forwarded causing the Okta authentication workflow to break.",
        ),
    ],
    "structured/dfds/PM2021-009-all-services-returning-404-in-kubernetes.md": [
        (
            "trigger",
            "Malformed IngressRoute manifest applied to Kubernetes triggered a bug "
            "in Traefik v2 (version < 2.5) causing no ingress traffic to be "
            "received nor routed.",
        ),
        (
            "contributing",
            "Due to the nature of the bug it first triggered after all the Traefik "
            "v2 pods got restarted.",
        ),
    ],
    "structured/dfds/PM2021-010-a-limited-amount-of-"
    "services-deployed-in-kubernetes-returning-504.md": [
        (
            "root_cause",
            "Ingress object pointing towards a Secret with a data format not "
            "expected by Traefik resulted in Traefik being unable to forward "
            "requests for Ingress/Service' created after the introduction of the "
            "aforementioned change.",
        ),
    ],
    "structured/dfds/PM2022-001-prometheus-is-down-with-connection-refused-errors.md": [
        (
            "root_cause",
            "There were problems scheduling Prometheus due a k8s node being in NotReady state.",
        ),
    ],
    "structured/dfds/PM2022-002-logs-not-shipped-to-cloudwatch.md": [
        (
            "root_cause",
            "Misconfiguration of fluentd resulted in logs not being shipped to "
            "CloudWatch for ninety minutes.",
        ),
    ],
    "structured/dfds/PM2022-004-kafka-metrics-missing-from-prometheus.md": [
        (
            "root_cause",
            "Kafka metrics missing from Prometheus due to kafka-exporter's /metrics "
            "endpoint being too slow to load.",
        ),
    ],
    "structured/dfds/PM2022-008-crud-operations-on-k8s-service-resources-unavailable.md": [
        (
            "root_cause",
            "CRUD operations on any K8s Service resource excluding exempted "
            "namespaces were unavailable due to an unresponsive webhook. More "
            "specifically, Kyverno was stuck in crash loop.",
        ),
    ],
    "structured/dfds/PM2022-009-bad-aws-eks-ami-causing-kubernetes-issues.md": [
        (
            "trigger",
            "On Monday our daily-rollover process spawned new nodes based on the "
            "latest AWS EKS-node AMI which was later recalled due to a Kernel "
            "\nissue.",
        ),
        (
            "root_cause",
            "This bad node image caused sporadic communication issues in our "
            'cluster, notably nodes briefly reportng "PLEG is not healthy" and '
            "\noccasionally reporting as unhealthy.",
        ),
    ],
    "structured/dfds/PM2023-001-total-node-failure.md": [
        (
            "trigger",
            "Due to Kubernetes logs not being shipped to CloudWatch, an unscheduled "
            "node rollover was triggered to remedy that.",
        ),
        (
            "root_cause",
            "The node rollover attempt timed out(faulty configuration), and a "
            "subsequent rollover attempt to fix that killed the healthy worker "
            "nodes because of two reasons. The faulty nodes weren't removed yet and "
            "the default termination policy is to remove nodes with the oldest "
            "launch template at the time.",
        ),
    ],
    "structured/dfds/PM2024-001-two-kubernetes-nodes-went-into-notready-state.md": [
        (
            "root_cause",
            "The root cause was a Grafana Agent pod using a high amount of memory on a node.",
        ),
        (
            "contributing",
            "Hangfire pods were allocated to the same node causing a spiral of "
            "CrashLoopBackOff due to System OOM eventually making the whole node "
            "unresponsive.",
        ),
    ],
    "structured/dfds/PM2024-002-pods-not-able-to-start-"
    "while-being-moved-to-new-nodes-during-ami-update.md": [
        (
            "contributing",
            "It is worth mentioning that some Production PODs are still running on "
            "single replicas, which isn't ideal.",
        ),
    ],
    "structured/dfds/PM2024-003-kube-state-metrics-exposing-wrong-labels.md": [
        (
            "trigger",
            "Following the merge of PR #1237 which migrated exporters and service "
            "monitors from kube-prom stack to k8s-monitoring deployment, some "
            "alerts were being triggered after the change.",
        ),
        (
            "root_cause",
            "Reason was the configuration change on the labels exposed by the kube "
            "state metrics, as a result on our efforts to migrate to Grafana Cloud "
            "from our legacy Prometheus setup.",
        ),
        (
            "contributing",
            "A fix was ready but the change was not possible to roll out "
            "immediately due to a blocking change in the infrastructure pipeline "
            "that was not ready to be rolled out in production.",
        ),
    ],
    "structured/dfds/PM2025-001-node-system-resource-starvation-and-scheduling-capacity.md": [
        (
            "contributing",
            "The fix used additional capacity on each node to prevent the issue "
            "from reoccurring but as a consequence the cluster became "
            "overprovisioned causing a small number of customer workloads to be "
            "stuck in Pending state.",
        ),
    ],
    "structured/dfds/PM2025-002-traefik-rule-preventing-some-inbound-traffic.md": [
        (
            "trigger",
            "A change was pushed to fix the Traefik dashboard which inadvertently "
            "caused inbound traffic intended for the /api sub-path of any "
            "applications served to be directed to the dashboard instead of the "
            "intended application.",
        ),
        (
            "contributing",
            "The change took effect later than expected due to an issue caused by "
            "the combination of a known issue and an unintended upgrade to a system "
            "component, which likely delayed detection.",
        ),
    ],
    # mybinder (2026-12-07): read report by report, by the same rule, before the extractor was
    # run on these reports; (kind, text, n) labels the n-th (0-based) copy of a repeated text.
    # An empty list: read, no cause stated.
    "structured/mybinder/2017-09-27-hub-403.md": [
        (
            "root_cause",
            "This was caused by a small bug that manifests only on\nmulti-node "
            "kubernetes clusters.",
        ),
        (
            "root_cause",
            "In binderhub, we were not doing this polling. We instead prematurely "
            "redirect\n   to the hub, which freaks out at the non-running server "
            "and gives us the 403.\n   This is because we\n   use "
            "[nullauthenticator](https://github.com/jupyterhub/nullauthenticator) "
            "for\n   the hub, whose sole job is to 403 every user not already "
            "logged in somehow!",
        ),
        (
            "contributing",
            "In cluster, most images had already been locally cached. So some "
            "images would\n   launch under 10s, hence not causing the 403. This "
            "made tracking down cause a\n   little harder than if it failed "
            "consistently.",
        ),
        (
            "contributing",
            "Local development environment being slightly different from "
            "production\n   environment (single node vs multi node)",
        ),
        (
            "contributing",
            "Testing in staging not thorough enough",
        ),
        (
            "contributing",
            "Debugging this was complicated by the fact we changed a lot of things "
            "at the\nsame time (JupyterHub version, binder code, etc).",
        ),
    ],
    "structured/mybinder/2017-09-29-504.md": [
        (
            "root_cause",
            "I believe all of these are reflecting a bug in the KubeSpawner "
            "reflector missing events and never recovering (see "
            "https://github.com/jupyterhub/kubespawner/pull/81 for a possible fix).",
        ),
        (
            "root_cause",
            "The primary cause of these issues is the loss of events on the "
            "KubeSpawner PodReflector.",
        ),
    ],
    "structured/mybinder/2017-10-17-cluster-full.md": [
        (
            "root_cause",
            "This was caused by the cluster being full & hitting our autoscaling 'upper' limit.",
        ),
        (
            "root_cause",
            "Due to the launch timeout being too small + a bug in KubeSpawner, "
            "pods kept getting started & then orphaned, leading to cluster being "
            "full.",
        ),
        (
            "root_cause",
            "This is attributed to KubeSpawner not really cleaning up after itself "
            "- if a spawn fails, KubeSpawner should kill the pod, rather than let "
            "it stay in whatever state it was in. This leads to 'orphan' pods that "
            "won't be cleaned up, since JupyterHub has lost track of these pods.",
        ),
        (
            "contributing",
            "This is made worse by the low timeout on launches in binderhub - "
            "except when the launch fails, we don't kill the server. This leads to "
            "servers that are launched after the timeout, so users never see it.",
        ),
    ],
    "structured/mybinder/2017-11-30-oom-proxy.md": [
        (
            "root_cause",
            "One node running a proxy had run out of memory which broke the proxy.",
        ),
        (
            "root_cause",
            "Probably a build container had used up all the memory on the node as "
            "builds had no memory limits enforced.",
        ),
    ],
    "structured/mybinder/2018-01-04-failed-staging-deploy.md": [
        (
            "trigger",
            "Merging a PR into BinderHub and deploying that change to "
            "`mybinder.org` staging in a second PR resulted in a Travis error.",
        ),
        (
            "root_cause",
            "User misunderstanding of the correct commit SHA to use for the "
            "binderhub helm-chart was one part of the problem.",
        ),
        (
            "contributing",
            "Flakiness of Travis deployment due to insufficient waiting for "
            "helm-chart deployments contributed to the problem.",
        ),
        (
            "root_cause",
            "_Note: User error was made here by assuming the SHA used in the "
            "BinderHub helm-chart (binderhub-0.1.0-441f5ea) was the same as the PR "
            "in the BinderHub merge commit (4e3bafb).",
        ),
    ],
    "structured/mybinder/2018-01-17-ubuntu-upgrade.md": [
        (
            "root_cause",
            "In the midst of a general Travis period of instability, we were slow "
            "to\nrealize that Ubuntu had pulled several of its packages for "
            '"Zesty" from the\nrepository we were using in the base image for '
            "repo2docker. This meant that\nmost Binders would fail to build "
            "because those packages were no longer available.",
        ),
        (
            "root_cause",
            "**Problem**: Ubuntu removed repository packages for zesty, since it "
            "was not\na long-term release. The base Binder image was using zesty, "
            "so it would look\nfor packages that weren't there anymore.",
        ),
    ],
    "structured/mybinder/2018-01-18-reddit-hug.md": [
        (
            "trigger",
            "A repo is posted to [reddit "
            "/r/python](https://www.reddit.com/r/Python/comments/7r6e6w/"
            "visualize_your_mostplayed_artists_tracks_and/), "
            "it starts getting popular.",
        ),
    ],
    "structured/mybinder/2018-01-18-ssl-outdated.md": [
        (
            "root_cause",
            "So, we concluded that we're getting these notices because the SSL "
            "details\nchanged and letsencrypt has (expectedly) failed to link the "
            "two.",
        ),
        (
            "root_cause",
            "So when we changed domains\n(from `beta` to `*`), we also switched "
            "accounts on letsencrypt. Our old account\nis what is triggering the "
            "emails, but our new account is working fine.",
        ),
    ],
    "structured/mybinder/2018-02-12-launch-fail.md": [
        (
            "contributing",
            "The outage was present for nearly an hour before we noticed it. This "
            "is partially\n  because the site itself was returning no errors, only "
            "taking forever to launch.",
        ),
    ],
    "structured/mybinder/2018-02-20-jupyterlab-announcement.md": [
        (
            "trigger",
            "The JupyterLab [announcement "
            "post](https://blog.jupyter.org/jupyterlab-is-ready-for-users-5a6f039b8906) "
            "drove a great deal of traffic to mybinder.org.\nThis caused several "
            "outages throughout the day from varying causes.",
        ),
        (
            "root_cause",
            "This was caused by a small bug that manifests only when large numbers "
            "of users are using Binder at the same time.",
        ),
        (
            "contributing",
            "It turns out this is not the case, the Hub really was unavailable due "
            "to bad networking state on at least one node.",
        ),
        (
            "root_cause",
            "It is discovered that the hub's high CPU usage is due to a known bug "
            "in KubeSpawner with the Kubernetes Python client version 4.0 that was "
            "[fixed](https://github.com/jupyterhub/zero-to-jupyterhub-k8s/pull/462) "
            "in the jupyterhub helm chart v0.6. With kubernetes-client 4.0 Each "
            "Spawner allocates four idle threads via a ThreadPool. After some "
            "time, the total thread count gets high enough (~7000) that CPU usage "
            "get very high, even when the threads are idle.",
        ),
        (
            "root_cause",
            "This high CPU usage in the Hub due to a flood of threads created by "
            "kubernetes-client is believed to be the root cause of most of our "
            "issues during this incident.",
        ),
        (
            "root_cause",
            "The ultimate cause of this incident was a bug in a specific version "
            "JupyterHub+KubeSpawner+kubernetes-client that causes unreasonably "
            "high load for a moderate load.",
        ),
        (
            "contributing",
            "This bug had been fixed weeks ago in the jupyterhub chart, and was "
            "present. BinderHub was using a development version of the jupyterhub "
            "chart _prior_ to the latest stable release.",
        ),
        (
            "contributing",
            "Deploying a change to `prod` under heavy load causes instability, in "
            "this case manifesting in\n   new users not being created.",
        ),
        (
            "root_cause",
            "JupyterHub was basically getting swamped because it was handling more "
            "HTTP requests by an order of magnitude or more.",
        ),
        (
            "contributing",
            "The aforementioned big bump in usage",
        ),
        (
            "contributing",
            'The "default" route points to the hub, so when a user\'s pod would '
            "get delete and they'd continue doing stuff, all resulting requests "
            "went to the hub.",
        ),
        (
            "contributing",
            "We don't have a mechanism for throttling requests on the hub",
        ),
        (
            "contributing",
            "We only have a single hub that's handling all HTTP requests",
        ),
        (
            "contributing",
            "There were cascading effects going on where errors would generate "
            "more HTTP requests that would worsen the problem.",
        ),
    ],
    "structured/mybinder/2018-02-22-nginx-down.md": [],
    "structured/mybinder/2018-03-13-PVC-hub-locked.md": [
        (
            "trigger",
            "Upon investigation it seemed that\nsome nodes had gone bad.",
        ),
        (
            "root_cause",
            "The JupyterHub pod was on one such node,\nbut wasn't being deleted "
            "properly. Since it wasn't culled, it couldn't \"release\" the PVC\n"
            "that contained the hub db, which meant that new hub pods\ncould not "
            "access the db, resulting in the outage.",
        ),
        (
            "root_cause",
            "starting a new jhub pod is failing because the PVC is still claimed "
            "by another old pod, presumably that old pod is dead/lost in action "
            "and hence not releasing the claim",
        ),
        (
            "contributing",
            "It took quite some time before we noticed this error. This is strange "
            "because we did not get a stackdriver email about this. The "
            "stackdriver emails seem to get marked as spam and the notification "
            "about this arrives hours later.",
        ),
    ],
    "structured/mybinder/2018-03-26-no-space-left.md": [
        (
            "root_cause",
            'A node became unhealthy, correlated with a flood of "no space left on '
            'device"\nmessages in the logs.',
        ),
    ],
    "structured/mybinder/2018-03-31-server-start-fail.md": [
        (
            "trigger",
            "After a few days of general sub-optimal stability and some strange "
            "networking errors, a node was deleted. This caused a more general "
            "outage that was only solved by totally recycling all nodes.",
        ),
        (
            "contributing",
            "It was difficult to debug this problem as there was no obvious error "
            "message, and the person solving the problem wasn't sure how to debug.",
        ),
        (
            "contributing",
            "There was only one person available to debug, which made it more "
            "difficult to know how to proceed withot any feedback",
        ),
    ],
    "structured/mybinder/2018-04-18-cull-flood.md": [
        (
            "trigger",
            "A deploy of updates to the Hub included an upgraded implementation of "
            "the idle-culler script and an update to kubespawner.",
        ),
        (
            "root_cause",
            "The culler script had a bug which resulted in flooding the Hub with "
            "requests to stop servers that aren't running.",
        ),
        (
            "root_cause",
            "Additionally, a resource leak was introduced in the update to "
            "kubespawner,\nwhich caused JupyterHub to become unresponsive after "
            "launching a certain\nnumber of servers.",
        ),
        (
            "contributing",
            "This is in part because the culler bug resulted in a failure to "
            "delete users,\nso users were constantly accumulating.\nThe large "
            "number of users meant the updated Hub took a long time to deploy.",
        ),
        (
            "contributing",
            "Deploying to master fails due to a bug in the newly introduced image culler.",
        ),
        (
            "root_cause",
            "It is observed that the memory leak does not recur,\nconfirming that "
            "the kubespawner update is the root cause.",
        ),
    ],
    "structured/mybinder/2018-07-08-podsnips-aplenty.md": [
        (
            "root_cause",
            "Pod shutdown stopped functioning,\nresulting in constant growth of "
            "pods,\neventually filling the cluster and new launches failing.",
        ),
        (
            "root_cause",
            "These pods _have_ started, but aren't registered in the pod "
            "reflector,\nso in aborting the launch, the pod is not deleted.\nThis "
            "is the direct cause of the runaway pod growth,\nthough the root cause "
            "is that the pod reflector has stopped updating.",
        ),
        (
            "root_cause",
            "pod reflector in kubespawner stopped receiving events,\n  leading to "
            "total launch failure until the Hub was restarted.",
        ),
        (
            "contributing",
            "A compounding bug caused pods that the reflector failed to notice "
            "starting\n  skipped deletion because they were assumed not to have "
            "been created in the first place.",
        ),
        (
            "contributing",
            "outage lasted a long time (five hours) before we noticed. We still "
            "don't have downtime notifications setup.",
        ),
    ],
    "structured/mybinder/2018-07-30-jupyterlab-build-cpu-saturate.md": [
        (
            "trigger",
            "The `jupyterlab-demo` repo updated itself, triggering a build",
            0,
        ),
        (
            "contributing",
            "The update to `jupyterlab-demo` installed a newer version of JupyterLab",
            0,
        ),
        (
            "contributing",
            "`repo2docker` needed a loooong time installing this (perhaps because "
            "of webpack size issues)",
            0,
        ),
        (
            "root_cause",
            "Since the repository gets a lot of traffic, each request to launch "
            "while\n   the build is still happening eats up CPU in the Binder pod",
            0,
        ),
        (
            "root_cause",
            "The Binder pod was thus getting saturated and behaving strangely, "
            "causing\n   the outage",
            0,
        ),
        (
            "trigger",
            "The `jupyterlab-demo` repo updated itself, triggering a build",
            1,
        ),
        (
            "contributing",
            "The update to `jupyterlab-demo` installed a newer version of JupyterLab",
            1,
        ),
        (
            "contributing",
            "`repo2docker` needed a loooong time installing this (perhaps because "
            "of webpack size issues)",
            1,
        ),
        (
            "root_cause",
            "Since the repository gets a lot of traffic, each request to launch "
            "while\n   the build is still happening eats up CPU in the Binder pod",
            1,
        ),
        (
            "root_cause",
            "The Binder pod was thus getting saturated and behaving strangely, "
            "causing\n   the outage",
            1,
        ),
        (
            "contributing",
            "It took a while before we realized launch behavior was going wonky. "
            "We really\n  could use a notifier for the team :-/",
        ),
    ],
    "structured/mybinder/2019-02-20-no-logs.md": [
        (
            "contributing",
            "It was very difficult to identify the root cause of the issue,\n  in "
            "part because it appears to be a bug in the kubernetes master and/or "
            "the GKE service itself.",
        ),
    ],
    "structured/mybinder/2019-03-24-r2d-upgrade.md": [
        (
            "root_cause",
            "The problem was that a single repository that\nis very popular and "
            "takes a long time to build will end up consuming all\navailable "
            '"build slots".',
        ),
        (
            "trigger",
            "New version of repo2docker is deployed and the build prefix\nis "
            "bumped. This effectively clears the docker image cache.",
        ),
        (
            "contributing",
            "As not a lot of binders are running the auto-scaled\ncluster is small "
            "which limits the amount of resources available to build images.",
        ),
        (
            "contributing",
            'These nodes had no "Local SSD"\nassigned to them. This was a mistake '
            "in setting up the node pool.",
        ),
        (
            "contributing",
            "We generate a lot of load when wiping the cache and had no "
            "ready-to-go\n   instructions for adding extra nodes to the cluster.",
        ),
    ],
    "structured/mybinder/2019-04-03-ingress-cordoned.md": [
        (
            "trigger",
            "During a Kubernetes version upgrade all nodes running our "
            "ingress-controller\npods were cordoned. This went unnoticed and "
            "caused 40min of total outage.",
        ),
        (
            "trigger",
            "The final two nodes in the old user node pool are cordoned.",
        ),
    ],
    "structured/mybinder/2020-07-09-simultaneous-launches-scipy.md": [
        (
            "trigger",
            "However, when two\ntutorials both launched at the same time with >100 "
            "users each, Binder temporarily lost\nservice.",
        ),
        (
            "root_cause",
            "A steeper than usual spike in traffic meant our placeholder pods "
            "didn't allocate new\n   nodes early enough to be ready when users "
            "needed them, resulting in queuing of\n   launches.",
        ),
        (
            "contributing",
            "As a result of the high load and new nodes spinning up, launches began to timeout",
        ),
        (
            "contributing",
            "GKE prod reached its upper node limit in capacity, requiring a manual "
            "increase in\n   node capacity. During this time, many pods were "
            "pending, waiting for a slot.",
        ),
    ],
    "structured/mybinder/2022-01-27-prime-version.md": [
        (
            "root_cause",
            "A bug in the federation-redirect health checks\nkept the reference "
            "version from being updated,\npreventing traffic from being sent to "
            "other federation members.",
        ),
        (
            "contributing",
            "At this point, the prime cluster (GKE) is 'full' according to its pod quota.",
        ),
        (
            "root_cause",
            "Due to a bug in federation-redirect,\nas long as a cluster is full,\n"
            "its version is not checked.",
        ),
        (
            "root_cause",
            "As long as the prime cluster stays 'full' (or unhealthy for any "
            "reason),\nthe reference version will be out of date,\nAny actually "
            "up-to-date federation members will be considered to have mismatched "
            "version,\nand will not receive any redirect traffic.",
        ),
        (
            "root_cause",
            "federation-redirect logs show that the version mismatch is the cause "
            "of the drop in traffic,\nand that the 'prime' version is the one "
            "that's out-of-date.",
        ),
        (
            "root_cause",
            "federation-redirect did not have the correct 'prime version' for 9 "
            "hours, due to load on the prime cluster ([fixed][fix-pr])",
        ),
        (
            "contributing",
            "Response time was low. The issue went unnoticed for 3 hours,\n   and "
            "without action for at least 9 hours (when it resolved itself).\n   We "
            "do not currently have much int he way of proactive 'alerting' "
            "([issue][alerting-issue]),\n   so only when grafana or the status "
            "page is being watched do we notice issues like this.",
        ),
        (
            "contributing",
            "The health of the cluster is not immediately visible except in logs "
            "or long-term traffic trends,\n   which can take a while to be noticed "
            "([issue][metrics-issue]).\n   We do have most of these checks "
            "reimplemented on [the status page][status],\n   but not the actual "
            "values as considered by the redirector (bugs and all).\n   Notably, "
            "the status page does not include the version check,\n   which caused "
            "this incident.",
        ),
    ],
    "structured/mybinder/2022-06-02-pod-limit.md": [
        (
            "root_cause",
            "A bug in the GKE resource quota was preventing the `prod` hub from creating new pods.",
        ),
        (
            "root_cause",
            "They mentioned it was a bug in the `gke-resource-quotas` Kubernetes "
            "object, and that deleting it caused the object to be recreated and "
            "work correctly again.",
        ),
    ],
}


def _headings(text: str) -> list[tuple[int, int, int, str]]:
    """(line start, line end, level, title) for ATX, setext and bold-only heading lines."""
    found = []
    for m in re.finditer(r"^(#{1,6})[ \t]+(.*?)[ \t#]*$", text, re.MULTILINE):
        found.append((m.start(), m.end(), len(m.group(1)), m.group(2)))
    for m in re.finditer(r"^([^\n|#>*\-\s][^\n]*)\n(=+|-{3,})[ \t]*$", text, re.MULTILINE):
        found.append((m.start(), m.end(), 1 if m.group(2)[0] == "=" else 2, m.group(1).strip()))
    for m in re.finditer(r"^\*\*([^*\n]+?):?\*\*:?[ \t]*$", text, re.MULTILINE):
        found.append((m.start(), m.end(), 5, m.group(1)))
    fences = [m.span() for m in re.finditer(r"^```.*?^```", text, re.MULTILINE | re.DOTALL)]
    return sorted(h for h in found if not any(a <= h[0] < b for a, b in fences))


def _sections(text: str) -> list[tuple[str, int, int, list[str]]]:
    """(title, body start, body end, titles of the enclosing headings) for every heading."""
    heads = _headings(text)
    out = []
    for i, (_, end, level, title) in enumerate(heads):
        stop = heads[i + 1][0] if i + 1 < len(heads) else len(text)
        # keep only the chain of the nearest enclosing headings
        chain, current = [], level
        for _, _, lv, t in reversed(heads[:i]):
            if lv < current:
                chain.insert(0, t)
                current = lv
        out.append((title, end, stop, chain))
    return out


def _items(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Spans of list items (with continuation lines) and of paragraph sentences in a body."""
    body = text[start:end]
    spans = []
    in_fence = False
    para: list[tuple[int, int]] = []

    def flush_para() -> None:
        if not para:
            return
        a, b = para[0][0], para[-1][1]
        for s, e in _sentences(text, a, b):
            spans.append((s, e))
        para.clear()

    pos = start
    item: list[int] | None = None
    item_indent = 0
    for line in body.splitlines(keepends=True):
        stripped = line.strip()
        line_start, line_end = pos, pos + len(line.rstrip("\n"))
        pos += len(line)
        if stripped.startswith("```"):
            in_fence = not in_fence
            if item:
                spans.append(tuple(item))
                item = None
            flush_para()
            continue
        if in_fence or not stripped or stripped.startswith(("<img", "|", "![")):
            if item:
                spans.append(tuple(item))
                item = None
            flush_para()
            continue
        if re.match(r"^\s*\[[^\]]+\]:\s", line):  # a link reference definition
            continue
        marker = re.match(r"^\s*(?:[-*+•]|\d{1,2}[.)])\s+(?:\[[ xX]\]\s+)?", line)
        indent = len(line) - len(line.lstrip())
        if marker and item and indent > item_indent:  # a nested item belongs to its parent
            item[1] = line_end
        elif marker:
            item_indent = indent
            flush_para()
            if item:
                spans.append(tuple(item))
            item = [line_start + marker.end(), line_end]
        elif item and line.startswith((" ", "\t")):
            item[1] = line_end
        else:
            if item:
                spans.append(tuple(item))
                item = None
            lead = len(line) - len(line.lstrip())
            para.append((line_start + lead, line_end))
    if item:
        spans.append(tuple(item))
    flush_para()
    return [(s, e) for s, e in spans if re.search(r"[A-Za-z]{3}", text[s:e])]


def _sentences(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Sentence spans in text[start:end] (split after . ! ? before a capital)."""
    chunk = text[start:end]
    cuts = [0] + [m.end() for m in re.finditer(r"(?<=[.!?])\s+(?=[A-Z\[`*])", chunk)]
    cuts.append(len(chunk))
    out = []
    for a, b in zip(cuts, cuts[1:], strict=False):
        s, e = start + a, start + b
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if e > s:
            out.append((s, e))
    return out


def _zone(text: str) -> timezone | None:
    """The zone a report states for its times ("All times in CET."), or None."""
    m = re.search(r"All times in ([^\n]*)", text)
    line = m.group(1) if m else ""
    if not m and re.search(r"Time \(UTC\)", text):
        return UTC
    if not m and re.search(r"\| Date and Time in CET", text):
        return timezone(timedelta(hours=1))
    if not m:
        title = text.lstrip().splitlines()[0]
        return timezone(timedelta(hours=-8)) if "PST" in title else None
    exact = re.search(r"(?:UTC|GMT)\s?([+-]\d{1,2})", line)
    if exact:
        return timezone(timedelta(hours=int(exact.group(1))))
    if "central european" in line.lower():
        return timezone(timedelta(hours=1))
    if "pacific" in line.lower():  # "UC/Pacific" in July 2020: daylight time, UTC-7
        return timezone(timedelta(hours=-7))
    name = re.match(r"[A-Za-z]+", line)
    if name and name.group(0).lower() in ZONES:
        return timezone(timedelta(minutes=ZONES[name.group(0).lower()]))
    return None


def _iso(when: datetime, zone: timezone | None) -> str:
    if zone is not None:
        when = when.replace(tzinfo=zone)
        text = when.isoformat()
        return text.replace("+00:00", "Z")
    return when.isoformat()


def _timeline(text: str, sections, default_day: date | None) -> list[dict]:
    zone = _zone(text)
    events: list[dict] = []
    spans = [
        (a, b)
        for t, a, b, chain in sections
        if TIMELINE_TITLE.search(t) or any(TIMELINE_TITLE.search(c) for c in chain)
    ]
    if not spans:
        return events
    lo, hi = min(a for a, _ in spans), max(b for _, b in spans)
    body = text[lo:hi]
    day = default_day
    # table rows: "| 2021-09-17 08:00 |", "| ~2025-03-03 19:30 |", "| 2020-10-06 09:00 - 11:00 |",
    # "| 2021-12-10 |", "| 2019-12-03 --:-- |", "| 2022-06-02 HH:mm |" (a day without a time)
    for m in re.finditer(
        r"^\|\s*~?(\d{4,5})-(\d{2})-(\d{2})(?:\s+(\d{1,2}):(\d{2}|\?\?))?[^|\n]*\|\s*(.*?)\s*\|?\s*$",
        body, re.MULTILINE,
    ):  # fmt: skip
        if m.group(6).startswith("Short event description"):  # the template's placeholder row
            continue
        year = int(m.group(1)[:4])  # "20202-01-16" is a typo for 2020-01-16
        iso = f"{year}-{m.group(2)}-{m.group(3)}"
        if m.group(5) == "??":  # "14:??": the hour without its minutes cannot be scored
            iso = ""
        elif m.group(4):
            iso = _iso(datetime(year, int(m.group(2)), int(m.group(3)), int(m.group(4)),
                                int(m.group(5))), zone)  # fmt: skip
        events.append({"text": m.group(6).rstrip(" |"), "start": lo + m.start(6), "iso": iso})
    for m in re.finditer(r"^\|\s*(\d{4}[/-][\d?/-]+)\s+HH:mm\s*\|\s*(.*?)\s*\|?\s*$", body, re.M):
        if "?" in m.group(1) or "/" in m.group(1):  # "2022-05-??": no day to score
            events.append({"text": m.group(2).rstrip(" |"), "start": lo + m.start(2), "iso": ""})
    # "Jan 14, 10:18 AM" table rows (PostHog)
    for m in re.finditer(
        r"^\|\s*([A-Z][a-z]{2}) (\d{1,2}), (\d{1,2}):(\d{2}) ([AP]M)\s*\|\s*(.*?)\s*\|?\s*$",
        body, re.MULTILINE,
    ):  # fmt: skip
        hour = int(m.group(3)) % 12 + (12 if m.group(5) == "PM" else 0)
        year = default_day.year if default_day else 1900
        when = datetime(year, MONTHS[m.group(1).lower()], int(m.group(2)), hour, int(m.group(4)))
        events.append({"text": m.group(6).rstrip(" |"), "start": lo + m.start(6),
                       "iso": _iso(when, zone)})  # fmt: skip
    # ### time headings
    previous: datetime | None = None
    for title, a, b, _ in sections:
        if not (lo <= a <= hi):
            continue
        dm = re.fullmatch(
            r"~?(?:(\d{4})-(\d{2})-(\d{2}),?\s+|([A-Z][a-z]{2}) (\d{1,2}) (\d{4}),?\s+|"
            r"(\d{1,2})\. ([A-Z][a-z]+),\s+)?(?:ca\.\s*)?(\d{1,2}):(\d{2})\s*(am|pm)?"
            r"(?:\s*[-–]\s*~?\d{1,2}:\d{2})?\s*(?:UTC|PST|CET|CEST)?(?:\s*\([^)]*\))?"
            r"(?:\s+-\s+(?P<desc>.+))?",
            title.strip(),
        )
        if dm:
            if dm.group(1):
                day = date(int(dm.group(1)), int(dm.group(2)), int(dm.group(3)))
            elif dm.group(4):
                day = date(int(dm.group(6)), MONTHS[dm.group(4).lower()], int(dm.group(5)))
            elif dm.group(7):
                day = date(day.year, MONTHS[dm.group(8)[:3].lower()], int(dm.group(7)))
            hour = int(dm.group(9)) % 12 + 12 if dm.group(11) == "pm" else int(dm.group(9))
            when = datetime(day.year, day.month, day.day, hour, int(dm.group(10)))
            if previous and when + timedelta(hours=12) < previous:
                when += timedelta(days=1)
                day = when.date()
            previous = when
            if dm.group("desc"):  # "### 07:35 - Note pending pods": the heading is the event
                s = text.rfind(title.strip(), 0, a)
                events.append({"text": title.strip(), "start": s, "iso": _iso(when, zone)})
                continue
            paras = _items(text, a, b)
            if paras:
                s, e = paras[0]
                events.append({"text": text[s:e], "start": s, "iso": _iso(when, zone)})
            continue
        dm = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", title.strip())
        if dm:  # "### 2018-01-15": the paragraph below happened that day
            day = date(int(dm.group(1)), int(dm.group(2)), int(dm.group(3)))
            previous = None
            paras = _items(text, a, b)
            if paras:
                s, e = paras[0]
                events.append({"text": text[s:e], "start": s, "iso": day.isoformat()})
            continue
        dm = re.match(r"([A-Z][a-z]+) (\d{1,2})(?:-\d{1,2})?, (\d{4})", title)
        if dm and dm.group(1)[:3].lower() in MONTHS:
            day = date(int(dm.group(3)), MONTHS[dm.group(1)[:3].lower()], int(dm.group(2)))
            previous = None
        # bold-time bullets in this section body
        for m in re.finditer(
            r"^[ \t]*[-*][ \t]+\*\*(\d{1,2}):(\d{2})(?:[ \t]*UTC)?(?:[ \t]*\(([A-Z][a-z]{2}) "
            r"(\d{1,2})\))?\*\*[ \t]*[-–—:]?[ \t]*(.+)$",
            text[a:b], re.MULTILINE,
        ):  # fmt: skip
            if m.group(3):
                day = date(day.year, MONTHS[m.group(3).lower()], int(m.group(4)))
            when = datetime(day.year, day.month, day.day, int(m.group(1)), int(m.group(2)))
            if previous and when + timedelta(hours=12) < previous:
                when += timedelta(days=1)
                day = when.date()
            previous = when
            ev_zone = zone or UTC  # these bullets say UTC
            events.append({"text": m.group(5).strip(), "start": a + m.start(5),
                           "iso": _iso(when, ev_zone)})  # fmt: skip
    events.sort(key=lambda e: e["start"])
    return events


def _status(item_text: str, chain_titles: list[str]) -> str:
    low = item_text.lower()
    if re.search(r"\((?:done|completed?)\)|\[x\]|✅|\bdone\b[):.]?\s*$|has been done|"
                 r"monitoring done", low):  # fmt: skip
        return "done"
    if re.search(r"in[- ]progress|underway|\bwip\b|🚧", low):
        return "in_progress"
    titles = " ".join(chain_titles).lower()
    if "planned or in-progress" in titles:
        return "planned"
    if re.search(r"completed|immediate actions", titles):
        return "done"
    return "planned"


def _field_items(text: str, sections, title_re: re.Pattern) -> list[tuple[int, int, list[str]]]:
    out: list[tuple[int, int, list[str]]] = []
    for title, a, b, chain in sections:
        titles = chain + [title]
        # the nearest matching heading decides; a stop heading below it ends the field
        hit = None
        for i, t in enumerate(titles):
            if title_re.search(t):
                hit = i
            elif hit is not None and STOP_TITLE.search(t):
                hit = None
        if hit is None or STOP_TITLE.search(title) and not title_re.search(title):
            continue
        for s, e in _items(text, a, b):
            out.append((s, e, titles))
    return out


def derive(path: Path, split: str) -> dict:
    text = path.read_text(encoding="utf-8")
    folder = path.parent.name
    sections = _sections(text)
    title = next((t for t in (h[3] for h in _headings(text)) if t), "")
    first_line = text.lstrip().splitlines()[0]
    title = re.sub(r"^#\s*", "", first_line).strip() if first_line.startswith("#") else title
    fm = re.match(r"(\d{4})-(\d{2})-(\d{2})", path.name)
    default_day = date(int(fm.group(1)), int(fm.group(2)), int(fm.group(3))) if fm else None
    timeline = _timeline(text, sections, default_day)
    causes = [{"text": text[s:e], "start": s,
               "kind": "contributing" if "contributing" in " ".join(t).lower() else "root_cause"}
              for s, e, t in _field_items(text, sections, CAUSE_TITLE)]  # fmt: skip
    actions = [{"text": text[s:e], "start": s, "status": _status(text[max(0, s - 4) : e], t)}
               for s, e, t in _field_items(text, sections, ACTION_TITLE)]  # fmt: skip
    impacts = [{"text": text[s:e], "start": s}
               for s, e, _ in _field_items(text, sections, IMPACT_TITLE)]  # fmt: skip
    dated = sorted(e["iso"][:10] for e in timeline if re.match(r"\d{4}-", e["iso"]))
    incident_day = default_day.isoformat() if default_day else (dated[0] if dated else "")
    labelled = ["title", "organization", "date", "timeline"]
    if causes:
        labelled.append("causes")
    if actions:
        labelled.append("actions")
    if impacts:
        labelled.append("impacts")
    return {
        "doc": f"tests/gold/texts/{folder}/{path.name}",
        "source": f"{SOURCE.name}/{folder}/{path.name}",
        "licence": "BSD-3-Clause" if folder == "mybinder" else "MIT",
        "split": split,
        "method": "derived",
        "labelled": labelled,
        "title": title,
        "organization": ORGANIZATIONS[folder],
        "date": incident_day,
        "date_range": [dated[0], dated[-1]] if dated else [incident_day, incident_day],
        "causes": causes,
        "timeline": timeline,
        "actions": actions,
        "impacts": impacts,
    }


def _apply_fixes(label: dict) -> dict:
    for field, changes in FIXES.get(label["source"], {}).items():
        if field in ("drop_timeline", "drop_causes", "drop_actions", "drop_impacts"):
            key = field.removeprefix("drop_")
            label[key] = [x for x in label[key] if x["text"] not in changes]
        elif field == "action_status_prefix":
            for item in label["actions"]:
                for prefix, status in changes.items():
                    if item["text"].startswith(prefix):
                        item["status"] = status
        elif field in ("timeline_iso", "action_status"):
            key, attr = ("timeline", "iso") if field == "timeline_iso" else ("actions", "status")
            for item in label[key]:
                if item["text"] in changes:
                    item[attr] = changes[item["text"]]
        else:
            label[field] = changes
    return label


def _add_causes_by_meaning(label: dict, text: str) -> dict:
    """Add the causes of ``CAUSES_BY_MEANING`` to a label; a listed report has causes labelled.

    An entry ``(kind, text)`` must occur once in the report; ``(kind, text, n)`` names the n-th
    (0-based) of several identical copies (a list repeated in two sections).
    """
    if label["source"] not in CAUSES_BY_MEANING:
        return label
    for kind, cause, *nth in CAUSES_BY_MEANING[label["source"]]:
        if nth:
            assert text.count(cause) > nth[0], cause
            start = -1
            for _ in range(nth[0] + 1):
                start = text.index(cause, start + 1)
        else:
            assert text.count(cause) == 1, cause
            start = text.index(cause)
        label["causes"].append(
            {"text": cause, "start": start, "kind": kind, "added": "summary-rule"}
        )
    label["causes"].sort(key=lambda c: c["start"])
    if "causes" not in label["labelled"]:
        label["labelled"].insert(label["labelled"].index("timeline") + 1, "causes")
    return label


def _copy_manifest() -> None:
    """Copy the source MANIFEST.csv, keeping the rows of texts that come from elsewhere."""
    rows = (SOURCE / "MANIFEST.csv").read_text(encoding="utf-8").splitlines()
    folders = {row.split("/", 1)[0] for row in rows[1:]}
    target = TEXTS / "MANIFEST.csv"
    kept = []
    if target.exists():  # e.g. the wikitech rows, added by hand
        old = target.read_text(encoding="utf-8").splitlines()[1:]
        kept = [row for row in old if row.split("/", 1)[0] not in folders]
    target.write_text("\n".join(rows + kept) + "\n", encoding="utf-8")


def main() -> None:
    paths = sorted(SOURCE.glob("*/*.md"))
    TEXTS.mkdir(parents=True, exist_ok=True)
    for name in ("LICENSE-dfds.txt", "LICENSE-mybinder.txt", "LICENSE-posthog.txt"):
        shutil.copyfile(SOURCE / name, TEXTS / name)
    _copy_manifest()
    for i, path in enumerate(paths):
        split = "heldout" if i % 3 == 2 else "dev"  # every third report, 23 of 69, held out
        target = TEXTS / path.parent.name / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
        out = LABELS / path.parent.name / (path.stem + ".json")
        out.parent.mkdir(parents=True, exist_ok=True)
        if out.exists() and json.loads(out.read_text(encoding="utf-8")).get("method") == "hand":
            continue
        text = target.read_text(encoding="utf-8")
        label = _add_causes_by_meaning(_apply_fixes(derive(target, split)), text)
        for field in ("causes", "timeline", "actions", "impacts"):
            for item in label[field]:
                assert text[item["start"] : item["start"] + len(item["text"])] == item["text"]
        out.write_text(json.dumps(label, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"{len(paths)} reports labelled into {LABELS}")


if __name__ == "__main__":
    main()
