"""Argument types shared by several functions, each documented once.

The CLI shows each default and marks required arguments itself: a `Doc` says what
the argument means (and what an empty value means), never its default again.
"""

from typing import Annotated

import dagger
from dagger import Doc

Platform = Annotated[str, Doc('Platform to build, e.g. "linux/arm64"; empty: the engine\'s own.')]
Platforms = Annotated[
    list[str],
    Doc('Platforms of the image, e.g. ["linux/amd64", "linux/arm64"]; empty: the engine\'s.'),
]
Version = Annotated[str, Doc("Version label and VERSION build argument.")]
Revision = Annotated[
    str,
    Doc("Git revision (GIT_SHA build argument, summary); empty: the source checkout's commit."),
]
SourceUrl = Annotated[str, Doc("Repository URL for the image's source label (SOURCE build arg).")]
Created = Annotated[str, Doc("RFC 3339 build time (CREATED build argument); empty: unset.")]
Severity = Annotated[
    str, Doc("Lowest severity failing the gate: UNKNOWN, LOW, MEDIUM, HIGH or CRITICAL.")
]
IgnoreUnfixed = Annotated[bool, Doc("Skip vulnerabilities that have no fixed version yet.")]
TrivyIgnore = Annotated[
    dagger.File | None,
    Doc("A .trivyignore file of accepted findings; omitted: the source's .trivyignore, if any."),
]
Image = Annotated[str, Doc("Image reference by digest (name@sha256:...); tags are refused.")]
Address = Annotated[str, Doc('Registry address to push to, e.g. "ghcr.io/org/hello-api:1.2.0".')]
RegistryUser = Annotated[
    str, Doc("Registry user name; empty: no login (public or local registry).")
]
RegistryPassword = Annotated[
    dagger.Secret | None, Doc("Registry password or token, e.g. env://REGISTRY_TOKEN.")
]
PrivateKey = Annotated[
    dagger.Secret | None, Doc("Cosign private key (PEM), e.g. env://COSIGN_PRIVATE_KEY.")
]
KeyPassword = Annotated[
    dagger.Secret | None, Doc("Password of the cosign private key; omitted: an unencrypted key.")
]
OidcToken = Annotated[
    dagger.Secret | None,
    Doc("OIDC token (audience sigstore) for keyless signing, e.g. env://SIGSTORE_ID_TOKEN."),
]
DbPassword = Annotated[
    dagger.Secret | None,
    Doc("Password of the throw-away database; omitted: a fixed one, for this run only."),
]
