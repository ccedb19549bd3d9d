"""The work behind each function: small objects given a Toolbox, wiring containers only.

| module | object | what it does |
|---|---|---|
| python_env | PythonEnv | Python with the locked dev environment; PostgreSQL bound as `db` |
| checks | Checks | lint, unit and integration tests, the repository's own tests |
| image | ImageBuilder | the Dockerfile's image per platform, its SBOMs, the local service |
| scanner | Scanner | Trivy gates on the image tarball and on the source, with the exceptions |
| registry | RegistryTools | push, pull by digest; cosign and crane with credentials in memory |
| signing | Signer | sign, attest SBOMs (per platform), verify a signature with cosign |
| provenance | Provenance | the build's facts, checked; its SLSA v1 provenance attested |
| verifier | Verifier | `verify-policy`: one cosign run per check, judged by pipeline.verification |
| repository | GitOpsRepo | clone, commit, push, pull request, revert of the overlay |
| ci | Ci | every step composed, the summary and the evidence |
| delivery | Delivery | deploy (staging, production), smoke |
| promotion | Promotion | what deploy checks: the tag's digest, the verification policy, the |
| | | production re-scan, the image's revision label, staging's Argo CD state |
| follow | follow_rollout | `deploy --wait`: Argo CD followed after the push (decisions in |
| | | pipeline.argocd), the commit reverted on failure |
| notify | post, tell | one webhook post (Slack-compatible), for ci and deploy |

Decisions (commands, gates, policy, edits, messages) are pure modules one level up.
"""
