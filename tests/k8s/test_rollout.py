"""The Rollout does blue/green with analysis gates and automated rollback."""

from __future__ import annotations

from tests.k8s.manifests import Manifest, find

ANALYSES = ("prePromotionAnalysis", "postPromotionAnalysis")
# Field names of BlueGreenStrategy and Metric in @kubernetes-models/argo-rollouts 2.0.0: the
# CRD schema accepts unknown fields, so a misspelled one would silently do nothing.
BLUE_GREEN_FIELDS = {
    *("activeService", "previewService", "autoPromotionEnabled", "autoPromotionSeconds"),
    *("prePromotionAnalysis", "postPromotionAnalysis", "previewReplicaCount", "maxUnavailable"),
    *("scaleDownDelaySeconds", "scaleDownDelayRevisionLimit", "abortScaleDownDelaySeconds"),
    *("activeMetadata", "previewMetadata", "antiAffinity"),
}
METRIC_FIELDS = {
    *("name", "provider", "interval", "initialDelay", "count", "successCondition"),
    *("failureCondition", "failureLimit", "inconclusiveLimit", "consecutiveErrorLimit"),
    "consecutiveSuccessLimit",
}


def analysis_templates(docs: list[Manifest], analysis: Manifest) -> list[Manifest]:
    """The AnalysisTemplates an analysis step names, each of which must exist."""
    return [find(docs, "AnalysisTemplate", t["templateName"]) for t in analysis["templates"]]


def seconds(duration: str) -> int:
    """An analysis interval such as "10s" or "1m" in seconds."""
    return int(duration[:-1]) * {"s": 1, "m": 60}[duration[-1]]


def container(rollout: Manifest) -> Manifest:
    """The Rollout's one container."""
    (api,) = rollout["spec"]["template"]["spec"]["containers"]
    return dict(api)


def test_rollout_uses_blue_green_with_both_services(docs: list[Manifest]) -> None:
    """activeService and previewService name Services that exist and differ."""
    blue_green = find(docs, "Rollout")["spec"]["strategy"]["blueGreen"]
    active, preview = blue_green["activeService"], blue_green["previewService"]
    assert active != preview, "active and preview must be two Services"
    for name in (active, preview):
        find(docs, "Service", name)


def test_rollout_fields_are_spelled_right(docs: list[Manifest], rollout: Manifest) -> None:
    """blueGreen and every analysis metric use only real field names."""
    blue_green = rollout["spec"]["strategy"]["blueGreen"]
    assert set(blue_green) <= BLUE_GREEN_FIELDS, set(blue_green) - BLUE_GREEN_FIELDS
    assert rollout["spec"]["revisionHistoryLimit"] > 0
    for template in (d for d in docs if d["kind"] == "AnalysisTemplate"):
        for metric in template["spec"]["metrics"]:
            assert set(metric) <= METRIC_FIELDS, f"{metric['name']}: {set(metric) - METRIC_FIELDS}"


def test_pre_promotion_analysis_targets_the_preview_service(blue_green: Manifest) -> None:
    """The gate before the switch tests the new version through the preview Service."""
    args = {a["name"]: a.get("value") for a in blue_green["prePromotionAnalysis"]["args"]}
    assert args["service"] == blue_green["previewService"], args


def test_post_promotion_analysis_targets_the_active_service(blue_green: Manifest) -> None:
    """After the switch, analysis tests what users now reach."""
    args = {a["name"]: a.get("value") for a in blue_green["postPromotionAnalysis"]["args"]}
    assert args["service"] == blue_green["activeService"], args


def test_analysis_args_resolve(docs: list[Manifest], blue_green: Manifest) -> None:
    """Every template arg without a default is passed, and every passed arg is declared."""
    for step in ANALYSES:
        declared = [
            a for t in analysis_templates(docs, blue_green[step]) for a in t["spec"]["args"]
        ]
        passed = {a["name"] for a in blue_green[step]["args"]}
        required = {a["name"] for a in declared if "value" not in a}
        assert required <= passed, f"{step}: missing args {required - passed}"
        assert passed <= {a["name"] for a in declared}, f"{step}: undeclared args"


def test_smoke_checks_health_and_greeting(docs: list[Manifest]) -> None:
    """The smoke template asks /health/ready and /api/v1/greeting of the given Service."""
    urls = [
        m["provider"]["web"]["url"]
        for m in find(docs, "AnalysisTemplate", "smoke")["spec"]["metrics"]
    ]
    assert any(u.endswith("/health/ready") for u in urls), urls
    assert any("/api/v1/greeting?" in u for u in urls), urls
    assert all(u.startswith("http://{{args.service}}.{{args.namespace}}.svc") for u in urls)


def test_old_version_outlives_post_promotion_analysis(
    docs: list[Manifest], blue_green: Manifest
) -> None:
    """The old ReplicaSet is still up when post-promotion analysis could abort."""
    metrics = [
        m
        for t in analysis_templates(docs, blue_green["postPromotionAnalysis"])
        for m in t["spec"]["metrics"]
    ]
    longest = max(
        seconds(m.get("initialDelay", "0s")) + seconds(m["interval"]) * m["count"] for m in metrics
    )
    assert blue_green["scaleDownDelaySeconds"] > longest, f"analysis runs up to {longest}s"


def test_auto_promotion_on_in_staging_off_in_production(
    staging: list[Manifest], production: list[Manifest]
) -> None:
    """Staging promotes after analysis; production waits for a person."""
    assert find(staging, "Rollout")["spec"]["strategy"]["blueGreen"]["autoPromotionEnabled"] is True
    assert (
        find(production, "Rollout")["spec"]["strategy"]["blueGreen"]["autoPromotionEnabled"]
        is False
    )


def test_production_checks_error_rate_after_the_switch(production: list[Manifest]) -> None:
    """Production's post-promotion analysis includes the Prometheus error-rate check."""
    post = find(production, "Rollout")["spec"]["strategy"]["blueGreen"]["postPromotionAnalysis"]
    assert "error-rate" in [t["templateName"] for t in post["templates"]]


def test_hpa_scales_the_rollout(production: list[Manifest]) -> None:
    """The HPA targets the Rollout, which then leaves the replica count to it."""
    target = find(production, "HorizontalPodAutoscaler")["spec"]["scaleTargetRef"]
    assert target == {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Rollout",
        "name": "hello-world-api",
    }
    assert "replicas" not in find(production, "Rollout")["spec"], (
        "Argo CD would undo every scale-up"
    )


def test_probes_hit_the_health_endpoints(rollout: Manifest) -> None:
    """Liveness asks /health/live and readiness /health/ready, on the http port."""
    api = container(rollout)
    assert api["livenessProbe"]["httpGet"] == {"path": "/health/live", "port": "http"}
    assert api["readinessProbe"]["httpGet"] == {"path": "/health/ready", "port": "http"}
    assert {"name": "http", "containerPort": 8000, "protocol": "TCP"} in api["ports"]


def test_pods_are_scraped_by_prometheus(rollout: Manifest) -> None:
    """Scrape annotations point Prometheus at /metrics on the service port."""
    annotations = rollout["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert (annotations["prometheus.io/port"], annotations["prometheus.io/path"]) == (
        "8000",
        "/metrics",
    )


def test_grace_period_covers_drain_and_shutdown(docs: list[Manifest], rollout: Manifest) -> None:
    """The kubelet waits longer than the service's drain plus in-flight timeout."""
    config = find(docs, "ConfigMap", "hello-world-api")["data"]
    needed = int(config["SHUTDOWN_DRAIN_SECONDS"]) + int(config["SHUTDOWN_TIMEOUT_SECONDS"])
    assert rollout["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] > needed


def test_each_container_has_requests_and_limits(rollout: Manifest) -> None:
    """CPU and memory requests and limits are set."""
    resources = container(rollout)["resources"]
    assert set(resources["requests"]) == set(resources["limits"]) == {"cpu", "memory"}
