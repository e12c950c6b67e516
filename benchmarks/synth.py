"""A deterministic, seeded generator of realistic synthetic postmortems for speed and scale tests.

Each document is one of four shapes: Markdown with headings (Summary / Timeline / Root Cause /
Impact / Action Items, with synonyms and in varied order), prose-only plain text with a heading
or two, a saved web page as text (navigation, newsletter prompts, "Related posts"), or a small
HTML page. Timelines come as tables, bold bullets, plain bullets or prose; action items as
numbered lists with statuses, bullets or prose. Causes, systems, organisations, dates
(2012-2025) and impact figures vary. Lengths follow roughly the real corpus
(``/work/shared/corpora/public/incidents``): median ~20 sentences, 10th-90th percentile ~10-45.

The same ``seed`` always yields identical bytes: every document draws from its own
``random.Random`` seeded by ``(seed, index)``, so ``generate(n, seed)`` is a prefix of
``generate(m, seed)`` for ``n < m``.

Usage: ``python benchmarks/synth.py --n 1000 --seed 7 --out DIR``
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import re
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

ORG_FIRST = (
    "Acme", "Northwind", "Bluefin", "Cobalt", "Driftwood", "Evergreen", "Foxglove", "Granite",
    "Harbor", "Ironclad", "Juniper", "Kestrel", "Lumen", "Meridian", "Nimbus", "Orchard",
    "Pinecone", "Quartz", "Redwood", "Saffron", "Tidal", "Umber", "Vantage", "Willow",
    "Yarrow", "Zephyr", "Atlas", "Beacon", "Cinder", "Delta",
)  # fmt: skip
ORG_SECOND = (
    "Pay", "Cloud", "Labs", "Mail", "Health", "Games", "Logistics", "Analytics", "Bank",
    "Stream", "Retail", "Travel", "Hosting", "Data", "Networks", "Chat", "CI", "Maps",
)  # fmt: skip
SYSTEMS = (
    "MongoDB", "Kafka", "Redis", "Kubernetes", "PostgreSQL", "MySQL", "Elasticsearch",
    "Cassandra", "RabbitMQ", "Nginx", "HAProxy", "Consul", "etcd", "ZooKeeper", "Memcached",
    "Amazon S3", "CloudFront", "Terraform", "Jenkins", "Vault", "Envoy", "Istio", "Ceph",
    "ClickHouse", "Prometheus", "Cloudflare", "Fastly", "DynamoDB", "Kinesis", "Varnish",
)  # fmt: skip
SERVICES = (
    "API", "checkout service", "login service", "search service", "billing pipeline",
    "webhook delivery", "dashboard", "mobile backend", "payment gateway", "email sending",
    "CI runners", "notification service", "public website", "image upload service",
    "reporting jobs", "session store", "package registry", "build cache", "DNS resolution",
    "internal admin tool",
)  # fmt: skip
REGIONS = ("us-east-1", "eu-west-1", "us-west-2", "ap-southeast-1", "eu-central-1", "AMS3")
ROLES = ("on-call engineer", "SRE on duty", "incident commander", "database team",
         "platform team", "network team", "support team", "security team")  # fmt: skip
TEAMS = ("Platform", "SRE", "Database", "Networking", "Payments", "Core API", "Infra")


@dataclass(frozen=True)
class Cause:
    """One kind of root cause and the phrases a postmortem about it would use."""

    kind: str
    trigger: str  # the timeline event that started it, e.g. "A configuration change ..."
    root: tuple[str, ...]  # root-cause sentences
    fix: str  # the mitigation event
    actions: tuple[str, ...]  # follow-up action items


CAUSES: tuple[Cause, ...] = (
    Cause(
        "config change",
        "An engineer applied a configuration change to the {sys} cluster",
        (
            "The root cause was a configuration change that lowered the {sys} connection limit "
            "from {big} to {small}.",
            "A typo in a configuration file pushed to {sys} disabled health checks for the {svc}.",
            "The change had passed review, but the staging environment did not use the same "
            "{sys} settings as production.",
        ),
        "The configuration change was reverted and {sys} was restarted",
        (
            "Validate {sys} configuration in CI before it can be deployed",
            "Make staging use the production {sys} configuration",
            "Require a second reviewer for changes to shared configuration",
        ),
    ),
    Cause(
        "bad deploy",
        "Version {ver} of the {svc} was deployed",
        (
            "A bug in release {ver} of the {svc} caused every request to open a new {sys} "
            "connection.",
            "The deploy contained a database migration that locked a large {sys} table.",
            "Our canary stage only ran for two minutes, too short to catch the regression.",
        ),
        "The deploy was rolled back to the previous version",
        (
            "Extend the canary stage to 30 minutes with automatic rollback on error rate",
            "Add a load test for the {svc} to the release pipeline",
            "Run schema migrations separately from application deploys",
        ),
    ),
    Cause(
        "disk full",
        "Disk usage on the primary {sys} node crossed 95%",
        (
            "The {sys} data volume ran out of disk space because old log segments were not "
            "being deleted.",
            "A retention job had silently failed for {days} days, so the disk filled up.",
            "Once the disk was full, {sys} stopped accepting writes and the {svc} failed.",
        ),
        "The team freed disk space by deleting old segments and expanded the volume",
        (
            "Alert when any data volume is more than 80% full",
            "Monitor the retention job and page when it fails",
            "Enable automatic volume expansion for {sys} nodes",
        ),
    ),
    Cause(
        "certificate expiry",
        "The TLS certificate for the {svc} expired",
        (
            "The TLS certificate on the {sys} load balancer expired at {hhmm} UTC.",
            "Certificate renewal was a manual step owned by an engineer who had left the company.",
            "Clients rejected the expired certificate and all HTTPS requests to the {svc} failed.",
        ),
        "A renewed certificate was installed on the load balancers",
        (
            "Automate certificate renewal with ACME for all public endpoints",
            "Alert 30 days before any certificate expires",
            "Keep an inventory of certificates and their owners",
        ),
    ),
    Cause(
        "retry storm",
        "Latency in {sys} rose after a brief network blip",
        (
            "Clients of the {svc} retried failed requests immediately and without backoff, "
            "which multiplied the load on {sys} by {factor}x.",
            "The retry storm kept {sys} overloaded long after the original blip had passed.",
            "Our circuit breakers were configured but disabled in production.",
        ),
        "Traffic was shed at the load balancer until {sys} recovered",
        (
            "Add exponential backoff with jitter to all clients of {sys}",
            "Enable circuit breakers in production",
            "Add a retry budget to the service mesh",
        ),
    ),
    Cause(
        "DNS",
        "Resolution of internal hostnames started failing",
        (
            "A change to our DNS zone removed the record for the {sys} endpoint.",
            "The resolvers cached the negative answer, so the outage outlasted the fix.",
            "Services that resolved {sys} at start-up kept working while new pods failed.",
        ),
        "The DNS record was restored and resolver caches were flushed",
        (
            "Manage DNS records in version control with review",
            "Lower the negative caching TTL for internal zones",
            "Add synthetic checks that resolve critical hostnames every minute",
        ),
    ),
    Cause(
        "BGP",
        "Our upstream provider withdrew BGP routes for our prefixes in {region}",
        (
            "A router misconfiguration at our network provider withdrew the BGP routes to our "
            "{region} data centre.",
            "Traffic to the {svc} could not reach {region} and failover to another region "
            "was not automatic.",
            "The withdrawal also cut us off from the {sys} replicas we rely on for failover.",
        ),
        "Traffic was failed over to another region and the provider restored the routes",
        (
            "Automate regional failover for the {svc}",
            "Add a second upstream provider in {region}",
            "Monitor BGP announcements for our prefixes",
        ),
    ),
    Cause(
        "hardware",
        "A storage controller in the {sys} cluster failed",
        (
            "A failing RAID controller on a {sys} host corrupted writes before it was taken "
            "out of service.",
            "The hardware fault triggered a failover, but the replica was {lag} seconds behind.",
            "Replacing the host took longer than expected because spare parts were not on site.",
        ),
        "The faulty host was removed and the replica was promoted",
        (
            "Keep spare storage controllers in each data centre",
            "Alert on replication lag above 10 seconds",
            "Test {sys} failover every quarter",
        ),
    ),
    Cause(
        "DDoS",
        "Inbound traffic to the {svc} rose to {factor}x the normal peak",
        (
            "A distributed denial-of-service attack sent {rps} requests per second to the {svc}.",
            "Our rate limits applied per IP address, and the attack came from many thousands "
            "of addresses.",
            "The attack saturated the {sys} tier in front of the {svc}.",
        ),
        "DDoS mitigation was enabled at the edge and the attack traffic was dropped",
        (
            "Enable always-on DDoS protection for public endpoints",
            "Add rate limits per account as well as per IP address",
            "Write a runbook for attack traffic",
        ),
    ),
    Cause(
        "capacity",
        "Traffic to the {svc} grew sharply during a marketing campaign",
        (
            "The {sys} cluster had not been scaled for the campaign and ran out of capacity.",
            "Autoscaling was capped at {small} nodes, a limit set two years earlier.",
            "Queue depth in {sys} grew faster than consumers could drain it.",
        ),
        "The cluster was scaled out and the backlog drained",
        (
            "Review autoscaling limits every quarter",
            "Tell the platform team about planned campaigns a week ahead",
            "Load test the {svc} at twice the expected peak",
        ),
    ),
    Cause(
        "memory leak",
        "Memory usage of the {svc} pods started to climb",
        (
            "A memory leak in the {sys} client library made the {svc} pods run out of memory.",
            "Kubernetes killed and restarted the pods every few minutes, dropping in-flight "
            "requests.",
            "The leak came in with a dependency upgrade that was not load tested.",
        ),
        "The dependency upgrade was reverted",
        (
            "Alert on pod restarts caused by out-of-memory kills",
            "Soak test dependency upgrades for 24 hours",
            "Set memory limits with headroom and track usage per release",
        ),
    ),
    Cause(
        "expired credentials",
        "Requests from the {svc} to {sys} started failing authentication",
        (
            "The service account password used by the {svc} to reach {sys} had expired.",
            "Credential rotation was scheduled but the new secret was never deployed.",
            "Error messages logged only a generic failure, which slowed down diagnosis.",
        ),
        "New credentials were issued and deployed to the {svc}",
        (
            "Store service credentials in {vault} with automatic rotation",
            "Alert when authentication failures to {sys} exceed 1%",
            "Log the reason for authentication failures",
        ),
    ),
)

SUMMARY_HEADINGS = ("Summary", "Overview", "Incident Summary", "TL;DR", "What happened")
TIMELINE_HEADINGS = ("Timeline", "Timeline of events", "Chronology", "Sequence of events",
                     "Timeline (all times UTC)")  # fmt: skip
CAUSE_HEADINGS = ("Root Cause", "Root cause analysis", "What went wrong", "Cause",
                  "Contributing factors", "Why did this happen?")  # fmt: skip
IMPACT_HEADINGS = ("Impact", "Customer impact", "Who was affected", "Scope and impact")
ACTION_HEADINGS = ("Action Items", "Remediation", "Next steps", "Follow-up actions",
                   "What we are doing about it", "Corrective actions")  # fmt: skip
DETECTION_HEADINGS = ("Detection", "How we found out", "Detection and response")
LESSON_HEADINGS = ("Lessons learned", "What went well", "What we learned")
STATUSES = ("Complete", "Planned", "In progress", "Done", "Not started")

FILLER = (
    "We take the reliability of the {svc} seriously and apologise for the disruption.",
    "This postmortem follows our blameless format.",
    "The {role} joined the incident call within minutes.",
    "Customer support posted updates on the status page throughout the incident.",
    "Dashboards for {sys} showed the problem clearly once we knew where to look.",
    "The incident was declared at severity {sev}.",
    "No data was lost during the incident.",
    "Some monitoring for the {svc} also depended on {sys}, which made diagnosis harder.",
    "We had seen a similar but smaller problem {weeks} weeks earlier.",
    "The {team} team owns the {svc} and led the response.",
    "We will publish a follow-up once the action items are complete.",
    "Internal tools were affected as well, including the deploy pipeline.",
    "Alerts fired as expected but were routed to a channel nobody was watching.",
    "Runbooks for {sys} were out of date.",
    "We want to thank our customers for their patience.",
    "Several engineers from the {team} team joined to help.",
    "Error rates in {region} were higher than in other regions.",
    "Requests that reached healthy nodes were served normally.",
    "Rolling back took longer than expected because the previous build had to be rebuilt.",
    "We communicated with affected customers by email after the incident.",
)
LESSONS = (
    "Having a clear incident commander kept the response focused.",
    "Our rollback tooling worked well and saved time.",
    "We need better visibility into {sys} internals.",
    "Alerting on symptoms rather than causes would have paged us earlier.",
    "The status page was updated too late.",
    "Escalation to the {team} team was fast.",
)
WEB_NAV = ("Home", "Blog", "Engineering", "Product", "Careers", "Pricing", "Docs", "About")
WEB_BOILERPLATE = (
    "Subscribe to our newsletter to get the latest engineering posts in your inbox.",
    "Enter your email address. Subscribe.",
    "Share this post: Twitter LinkedIn Facebook",
    "We're hiring! Check out our open positions.",
    "This site uses cookies. Accept all cookies.",
    "Sign up for a free trial.",
    "Was this article helpful? Yes No",
    "© {year} {org}. All rights reserved. Privacy Policy Terms of Service",
)
RELATED_TITLES = (
    "How we scaled {sys} to a million requests per second",
    "Introducing our new status page",
    "A year of incident reviews",
    "Why we moved off {sys}",
    "Our on-call handbook",
    "Building reliable webhooks",
)


def _lognormal_int(rng: random.Random, median: float, sigma: float, lo: int, hi: int) -> int:
    return max(lo, min(hi, round(median * (2.718281828 ** rng.gauss(0.0, sigma)))))


class _Draft:
    """The facts of one synthetic incident, drawn once and rendered in one of several shapes."""

    def __init__(self, rng: random.Random, index: int) -> None:
        self.rng = rng
        self.index = index
        self.org = f"{rng.choice(ORG_FIRST)}{rng.choice(ORG_SECOND)}"
        self.cause = rng.choice(CAUSES)
        self.systems = rng.sample(SYSTEMS, 3)
        self.svc = rng.choice(SERVICES)
        self.region = rng.choice(REGIONS)
        self.date = dt.date(2012, 1, 1) + dt.timedelta(days=rng.randrange(14 * 365))
        self.start = dt.datetime.combine(self.date, dt.time(rng.randrange(24), rng.randrange(60)))
        self.slots = {
            "sys": self.systems[0],
            "svc": self.svc,
            "region": self.region,
            "big": str(rng.choice((500, 1000, 2000, 4096))),
            "small": str(rng.choice((10, 16, 32, 50, 64))),
            "ver": f"{rng.randint(1, 9)}.{rng.randint(0, 40)}.{rng.randint(0, 9)}",
            "days": str(rng.randint(3, 40)),
            "factor": str(rng.randint(3, 40)),
            "lag": str(rng.randint(20, 900)),
            "rps": f"{rng.randint(2, 90) * 10_000:,}",
            "vault": "Vault" if rng.random() < 0.5 else "a secrets manager",
            "role": rng.choice(ROLES),
            "team": rng.choice(TEAMS),
            "sev": str(rng.randint(1, 3)),
            "weeks": str(rng.randint(2, 12)),
            "year": str(self.date.year),
            "org": self.org,
            "hhmm": self.start.strftime("%H:%M"),
        }
        self.duration = _lognormal_int(rng, 75, 0.9, 6, 2880)
        self.n_sentences = _lognormal_int(rng, 16, 0.55, 6, 80)

    def fill(self, template: str) -> str:
        slots = dict(self.slots)
        slots["sys"] = self.systems[0] if self.rng.random() < 0.8 else self.rng.choice(self.systems)
        return template.format(**slots)

    @property
    def title(self) -> str:
        kind = self.cause.kind
        return self.rng.choice(
            (
                f"{self.svc.capitalize()} outage on {self.date:%B} {self.date.day}, {self.date:%Y}",
                f"Postmortem: {self.svc} degradation caused by {kind}",
                f"Incident report: {self.systems[0]} {kind} ({self.date:%Y-%m-%d})",
                f"{self.date:%Y-%m-%d} {self.svc} incident",
                f"Post-incident review: {self.svc} errors in {self.region}",
            )
        )

    def summary(self) -> list[str]:
        dur = _duration_text(self.duration)
        when = f"{self.date:%B} {self.date.day}, {self.date:%Y}"
        return [
            self.rng.choice(
                (
                    f"On {when}, the {self.svc} was unavailable for {dur}.",
                    f"On {when} between {self.start:%H:%M} and "
                    f"{self.start + dt.timedelta(minutes=self.duration):%H:%M} UTC, "
                    f"users of the {self.svc} saw elevated error rates.",
                    f"For {dur} on {when}, {self.org} customers could not use the {self.svc}.",
                )
            ),
            self.fill(
                self.rng.choice(
                    (
                        "The incident was caused by {kind} affecting {sys}.",
                        "The trigger was a problem with {sys}: " + self.cause.kind + ".",
                        "In short: " + self.cause.kind + " took down {sys}.",
                    )
                ).replace("{kind}", self.cause.kind)
            ),
        ]

    def timeline(self) -> list[tuple[dt.datetime, str]]:
        rng = self.rng
        t = self.start
        events = [(t, self.fill(self.cause.trigger) + ".")]
        steps = [
            "Monitoring alerted on elevated error rates for the {svc}.",
            "The {role} was paged and acknowledged the alert.",
            "An incident was declared and a status page update was posted.",
            "Engineers began investigating {sys} metrics.",
            "The team identified the likely cause.",
            self.fill(self.cause.fix) + ".",
            "Error rates returned to normal levels.",
            "The incident was resolved and monitoring continued.",
        ]
        extra = rng.randint(0, 4)
        for _ in range(extra):
            steps.insert(
                rng.randint(3, len(steps) - 3),
                rng.choice(
                    (
                        "A second engineer joined to help with the investigation.",
                        "A first mitigation attempt did not help.",
                        "Customer support reported a rise in tickets.",
                        "The team escalated to the {team} team.",
                        "Traffic was partially shifted away from {region}.",
                    )
                ),
            )
        span = max(self.duration, len(steps) * 2)
        cuts = sorted(rng.sample(range(1, span), min(len(steps), span - 1)))
        for minute, text in zip(cuts, steps, strict=False):
            events.append((t + dt.timedelta(minutes=minute), self.fill(text)))
        return events

    def root_causes(self) -> list[str]:
        root = list(self.cause.root)
        self.rng.shuffle(root)
        return [self.fill(s) for s in root[: self.rng.randint(2, 3)]]

    def impact(self) -> list[str]:
        rng = self.rng
        out = [
            rng.choice(
                (
                    f"About {rng.randint(1, 99)}% of requests to the {self.svc} failed.",
                    f"{rng.randint(2, 900) * 10:,} customers were affected.",
                    f"Roughly {rng.randint(1, 500) * 1000:,} requests returned HTTP 500 errors.",
                    f"The error rate peaked at {rng.randint(5, 100)}%.",
                )
            ),
            f"The incident lasted {_duration_text(self.duration)}.",
        ]
        if rng.random() < 0.5:
            out.append(
                f"p99 latency rose from {rng.randint(80, 300)} ms to {rng.randint(2, 30)} s."
            )
        if rng.random() < 0.3:
            out.append(f"{rng.randint(1, 40)} enterprise customers opened support tickets.")
        return out

    def actions(self) -> list[tuple[str, str]]:
        items = [self.fill(a) for a in self.cause.actions]
        items += [
            self.fill(x)
            for x in self.rng.sample(
                (
                    "Update the {sys} runbook",
                    "Improve status page communication during incidents",
                    "Add a dashboard for {svc} dependencies",
                    "Review alert routing for the {team} team",
                ),
                self.rng.randint(0, 3),
            )
        ]
        return [(a, self.rng.choice(STATUSES)) for a in items]

    def filler(self, n: int) -> list[str]:
        return [self.fill(s) for s in self.rng.sample(FILLER, min(n, len(FILLER)))]


def _duration_text(minutes: int) -> str:
    if minutes < 90:
        return f"{minutes} minutes"
    hours, rest = divmod(minutes, 60)
    unit = "hour" if hours == 1 else "hours"
    return f"{hours} {unit} and {rest} minutes" if rest else f"{hours} {unit}"


def _timeline_lines(d: _Draft, style: str) -> list[str]:
    events = d.timeline()
    if style == "table":
        rows = ["| Time (UTC) | Event |", "|---|---|"]
        rows += [f"| {t:%Y-%m-%d %H:%M} | {text} |" for t, text in events]
        return ["\n".join(rows)]
    if style == "bold":
        return ["\n".join(f"- **{t:%H:%M} UTC** - {text}" for t, text in events)]
    if style == "plain":
        return ["\n".join(f"* {t:%H:%M}: {text}" for t, text in events)]
    return [f"At {t:%H:%M} UTC, {text[0].lower()}{text[1:]}" for t, text in events]


def _action_lines(d: _Draft, style: str) -> list[str]:
    acts = d.actions()
    if style == "numbered":
        return ["\n".join(f"{i}. {a} ({s})" for i, (a, s) in enumerate(acts, 1))]
    if style == "bullets":
        return ["\n".join(f"- [{'x' if s in ('Complete', 'Done') else ' '}] {a}" for a, s in acts)]
    if style == "table":
        rows = ["| Action | Owner | Status |", "|---|---|---|"]
        rows += [f"| {a} | {d.rng.choice(TEAMS)} | {s} |" for a, s in acts]
        return ["\n".join(rows)]
    return [f"We will {a[0].lower()}{a[1:]}." for a, _ in acts]


def _paragraphs(sentences: list[str], rng: random.Random) -> list[str]:
    out: list[str] = []
    i = 0
    while i < len(sentences):
        n = rng.randint(1, 4)
        out.append(" ".join(sentences[i : i + n]))
        i += n
    return out


def _sections(d: _Draft) -> list[tuple[str, list[str]]]:
    """Headed sections with bodies (paragraphs or list blocks), padded to the target length."""
    rng = d.rng
    tl_style = rng.choice(("table", "bold", "plain", "prose", "bold"))
    act_style = rng.choice(("numbered", "numbered", "bullets", "table", "prose"))
    secs = [
        ("summary", rng.choice(SUMMARY_HEADINGS), _paragraphs(d.summary(), rng)),
        ("timeline", rng.choice(TIMELINE_HEADINGS), _timeline_lines(d, tl_style)),
        ("cause", rng.choice(CAUSE_HEADINGS), _paragraphs(d.root_causes(), rng)),
        ("impact", rng.choice(IMPACT_HEADINGS), _paragraphs(d.impact(), rng)),
        ("action", rng.choice(ACTION_HEADINGS), _action_lines(d, act_style)),
    ]
    if rng.random() < 0.3:
        secs.insert(2, ("detection", rng.choice(DETECTION_HEADINGS), d.filler(2)))
    if rng.random() < 0.25:
        lessons = [d.fill(s) for s in rng.sample(LESSONS, 3)]
        secs.append(("lessons", rng.choice(LESSON_HEADINGS), _paragraphs(lessons, rng)))
    if rng.random() < 0.35:  # varied order: impact or cause first, timeline last
        order = {"summary": 0, "impact": 1, "cause": 2, "detection": 3, "timeline": 4}
        secs.sort(key=lambda s: order.get(s[0], 5))
    have = sum(_count_sentences(b) for _, _, body in secs for b in body)
    need = max(0, d.n_sentences - have)
    prose_secs = [s for s in secs if s[0] in ("summary", "cause", "impact", "detection")]
    while need > 0:
        extra = d.filler(min(need, len(FILLER)))
        need -= len(extra)
        rng.choice(prose_secs)[2].extend(_paragraphs(extra, rng))
    return [(heading, body) for _, heading, body in secs]


_SENT_END = re.compile(r"[.!?](?:\s|$)")


def _count_sentences(block: str) -> int:
    return max(1, len(_SENT_END.findall(block)))


def _render_markdown(d: _Draft) -> str:
    rng = d.rng
    level = rng.choice(("##", "##", "###"))
    parts = [f"# {d.title}", ""]
    if rng.random() < 0.5:
        parts += [f"*{d.date:%Y-%m-%d} · {d.org} {rng.choice(TEAMS)} team*", ""]
    for heading, body in _sections(d):
        parts += [f"{level} {heading}", ""]
        for block in body:
            parts += [block, ""]
    return "\n".join(parts)


def _render_plain(d: _Draft) -> str:
    """Mostly prose: a title line, one or two headings, lists flattened into sentences."""
    rng = d.rng
    sections = _sections(d)
    keep = set(rng.sample(range(len(sections)), rng.randint(1, 2)))
    parts = [d.title, "", f"{d.org}, {d.date:%d %B %Y}", ""]
    for i, (heading, body) in enumerate(sections):
        if i in keep:
            parts += [heading.upper() if rng.random() < 0.5 else f"{heading}:", ""]
        for block in body:
            parts += [_flatten(block), ""]
    return "\n".join(parts)


def _flatten(block: str) -> str:
    lines = []
    for line in block.splitlines():
        if line.startswith("|---"):
            continue
        cells = [c.strip() for c in line.strip("|").split("|")] if line.startswith("|") else None
        if cells is not None:
            if cells[0].startswith(("Time", "Action")):
                continue
            line = " - ".join(cells)
        line = re.sub(r"^(\d+\.|[-*]( \[.\])?)\s+", "", line).replace("**", "")
        lines.append(line if line.endswith((".", ")", "|")) else line + ".")
    return " ".join(lines)


def _render_webpage(d: _Draft) -> str:
    """A saved web page as text: navigation, byline, the post, then newsletter and related posts."""
    rng = d.rng
    nav = rng.sample(WEB_NAV, 5)
    parts = [f"{d.org} Blog", " | ".join(nav), "", d.title, ""]
    parts += [f"{d.date:%B %d, %Y} · {rng.randint(3, 12)} min read", ""]
    for heading, body in _sections(d):
        parts += [heading, ""]
        for block in body:
            parts += [_flatten(block) if rng.random() < 0.5 else block, ""]
    for line in rng.sample(WEB_BOILERPLATE, 3):
        parts += [d.fill(line), ""]
    parts += ["Related posts", ""]
    parts += [d.fill(t) for t in rng.sample(RELATED_TITLES, 3)]
    parts += ["", d.fill(WEB_BOILERPLATE[-1]), ""]
    return "\n".join(parts)


def _render_html(d: _Draft) -> str:
    rng = d.rng
    nav = "".join(f'<li><a href="/{n.lower()}">{n}</a></li>' for n in rng.sample(WEB_NAV, 5))
    body = [f"<h1>{_esc(d.title)}</h1>", f"<p class='byline'>{d.date:%B %d, %Y}</p>"]
    for heading, blocks in _sections(d):
        body.append(f"<h2>{_esc(heading)}</h2>")
        for block in blocks:
            if block.startswith(("- ", "* ", "1. ")):
                items = [re.sub(r"^(\d+\.|[-*])\s+", "", x) for x in block.splitlines()]
                body.append("<ul>" + "".join(f"<li>{_esc(x)}</li>" for x in items) + "</ul>")
            else:
                body.append(f"<p>{_esc(_flatten(block))}</p>")
    related = "".join(f"<li>{_esc(d.fill(t))}</li>" for t in rng.sample(RELATED_TITLES, 3))
    return (
        f"<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>{_esc(d.title)}</title>"
        f"</head>\n<body><nav><ul>{nav}</ul></nav>\n<article>\n"
        + "\n".join(body)
        + f"\n</article>\n<aside><h3>Related posts</h3><ul>{related}</ul></aside>\n"
        f"<footer><p>{_esc(d.fill(WEB_BOILERPLATE[0]))}</p></footer></body></html>\n"
    )


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


RENDERERS: tuple[tuple[str, str, float, Callable[[_Draft], str]], ...] = (
    ("markdown", "md", 0.5, _render_markdown),
    ("plain", "txt", 0.2, _render_plain),
    ("webpage", "txt", 0.2, _render_webpage),
    ("html", "html", 0.1, _render_html),
)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40].rstrip("-")


def _pick_renderer(roll: float) -> tuple[str, str, Callable[[_Draft], str]]:
    acc = 0.0
    for shape, ext, weight, render in RENDERERS:
        acc += weight
        if roll < acc:
            return shape, ext, render
    shape, ext, _, render = RENDERERS[-1]
    return shape, ext, render


def generate_one(index: int, seed: int) -> tuple[str, str]:
    """The ``index``-th synthetic postmortem for ``seed``: (filename, text)."""
    rng = random.Random(f"pmkb-synth:{seed}:{index}")
    draft = _Draft(rng, index)
    _shape, ext, render = _pick_renderer(rng.random())
    text = render(draft)
    name = f"pm-{index:05d}-{_slug(draft.org)}-{_slug(draft.cause.kind)}.{ext}"
    return name, text


def generate(n: int, seed: int = 7) -> Iterator[tuple[str, str]]:
    """Yield ``n`` synthetic postmortems as (filename, text); identical for identical seeds."""
    for i in range(n):
        yield generate_one(i, seed)


def write_corpus(out_dir: str | Path, n: int, seed: int = 7) -> list[Path]:
    """Write ``n`` postmortems into ``out_dir`` (created if needed); return the paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, text in generate(n, seed):
        path = out / name
        path.write_bytes(text.encode("utf-8"))
        paths.append(path)
    return paths


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000, help="number of postmortems")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", required=True, help="output directory")
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    paths = write_corpus(args.out, args.n, args.seed)
    print(f"wrote {len(paths)} postmortems to {args.out} in {time.perf_counter() - t0:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
