"""Argument types shared by several functions, each documented once (with its default)."""

from typing import Annotated

import dagger
from dagger import Doc

Platform = Annotated[
    str, Doc('Platform to build, e.g. "linux/arm64". Default "": the engine\'s own platform.')
]
Platforms = Annotated[
    list[str],
    Doc('Platforms of the image, e.g. ["linux/amd64", "linux/arm64"]. Default []: the engine\'s.'),
]
Version = Annotated[str, Doc('Version label and VERSION build argument. Default "dev".')]
Revision = Annotated[str, Doc('Git revision (GIT_SHA build argument, summary). Default "unknown".')]
SourceUrl = Annotated[
    str, Doc('Repository URL for the image\'s source label (SOURCE build argument). Default "".')
]
Created = Annotated[str, Doc('RFC 3339 build time (CREATED build argument). Default "": unset.')]
Severity = Annotated[
    str,
    Doc('Lowest severity failing the gate (UNKNOWN, LOW, MEDIUM, HIGH, CRITICAL). Default "HIGH".'),
]
IgnoreUnfixed = Annotated[
    bool, Doc("Skip vulnerabilities that have no fixed version yet. Default true.")
]
TrivyIgnore = Annotated[
    dagger.File | None,
    Doc("A .trivyignore file of accepted findings. Default: the source's .trivyignore, if any."),
]
Image = Annotated[
    str, Doc("Image reference by digest (name@sha256:...). Required; tags are refused.")
]
Address = Annotated[
    str, Doc('Registry address to push to, e.g. "ghcr.io/org/hello-api:1.2.0". Required.')
]
RegistryUser = Annotated[
    str, Doc('Registry user name. Default "": no login (public or local registry).')
]
RegistryPassword = Annotated[
    dagger.Secret | None,
    Doc("Registry password or token, e.g. env://REGISTRY_TOKEN. Default: none."),
]
PrivateKey = Annotated[
    dagger.Secret | None,
    Doc("Cosign private key (PEM), e.g. env://COSIGN_PRIVATE_KEY. Default: none."),
]
KeyPassword = Annotated[
    dagger.Secret | None,
    Doc("Password of the cosign private key. Default: none (unencrypted key)."),
]
OidcToken = Annotated[
    dagger.Secret | None,
    Doc(
        "OIDC token (audience sigstore) for keyless signing, e.g. env://SIGSTORE_ID_TOKEN."
        " Default: none."
    ),
]
DbPassword = Annotated[
    dagger.Secret | None,
    Doc("Password of the throw-away database. Default: a fixed one, for this run only."),
]
