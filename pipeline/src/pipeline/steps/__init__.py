"""The work behind each function: small objects given a Toolbox, wiring containers only.

| module | object | what it does |
|---|---|---|
| python_env | PythonEnv | Python with the locked dev environment; PostgreSQL bound as `db` |
| checks | Checks | lint, unit and integration tests, the repository's own tests |
| image | ImageBuilder | the Dockerfile's image per platform, its SBOMs, the local service |
| scanner | Scanner | Trivy gates on the image tarball and on the source |
| registry | RegistryTools | push; cosign and crane logged in with credentials in memory |
| signing | Signer | sign, attest (per platform), verify with cosign |
| repository | GitOpsRepo | clone, commit, push, pull request, revert of the overlay |
| ci | Ci | every step composed, the summary and the evidence |
| delivery | Delivery | deploy (staging, production), smoke |
| promotion | Promotion | what deploy checks: the tag's digest, signature and SBOM attestations, the image's revision label, staging's Argo CD state |
| follow | follow_rollout | `deploy --wait`: Argo CD followed after the push (decisions in pipeline.argocd), reverted on failure |
| notify | post, tell | one webhook post (Slack-compatible), for ci and deploy |

Decisions (commands, gates, edits, messages) are pure modules one level up.
"""
