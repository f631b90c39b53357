"""Download MovieLens from GroupLens, verify every file against a pinned sha256, cache it.

A dataset lives in its own folder of the cache, e.g. `data/ml-100k/u.data`. Files already there
are reused when their checksums match; a mismatch is an error that names the file, because many
copies of MovieLens on the web are silently modified.
"""

from __future__ import annotations

import hashlib
import io
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from movierec import locations
from movierec.errors import DataError


@dataclass(frozen=True)
class Source:
    """A zip published by GroupLens and the sha256 of each file we read from it."""

    name: str
    zip_name: str
    checksums: dict[str, str]


# sha256 of the files as GroupLens ships them (ML-100K's own README included: it is the licence).
ML_100K = Source(
    name="ml-100k",
    zip_name="ml-100k.zip",
    checksums={
        "README": "4883b8cf340ed0059971b33f56ad3adc88a40792108ebca3d24aafc4c82e8b52",
        "u.data": "06416e597f82b7342361e41163890c81036900f418ad91315590814211dca490",
        "u.genre": "9757e0d3e6b298159a80dd48eaf938114690e911e39af97a76949ef1663610bb",
        "u.info": "5b0a40b2e47a729ee6203063f6dcf8790c2e63f5a18663e6ee318a72c5f3c27b",
        "u.item": "553841ebc7de3a0fd0d6b62a204ea30c1e651aacfb2814c7a6584ac52f2c5701",
        "u.occupation": "cd5fbec9afe345d993a62fc7817df1a4a9079c4feb267b3118763b8fd942137d",
        "u.user": "f120e114da2e8cf314fd28f99417c94ae9ddf1cb6db8ce0e4b5995d40e90e62c",
        "u1.base": "ce253ec86c448b44fb3ba9a30d12dcfc2e9210cbde71efada3730c22e9ac212a",
        "u1.test": "18c6014a4b2c7324f250a63f8904a7b16b2b19f911129e346141507b0cbac950",
        "u2.base": "6c06f0b5df4b256da1a994f3ac66edc8da4d3f09bc9282df6b14d893366d703e",
        "u2.test": "4de658d1e04ed9104629509a2e2528fce833ac8e048280183f1df167632038c3",
        "u3.base": "afdc155c291c6edc41c0407e39d7462eb98d341e064f0b0a12175b80b3c4af5d",
        "u3.test": "0f548b51c78327de4c156461d3e430b7e5579fe2b5681586a59416e48fd35f6d",
        "u4.base": "219f0f4d40dfe9c5141d425f53fa91ee23ed275f14e280bbf1b50117afb064ca",
        "u4.test": "7c02ad0a1e7ab1083c8b9d4b627203a051dd7b5eab46d99fa44de33470de8db9",
        "u5.base": "a9574e59ce961eec2121627760b6e9b0974ce1637b3fe69ac32cb14a4bfab485",
        "u5.test": "351cc52e0d15b6c721466276fc24671d40936899e3d01fadeaf312915b8c5634",
        "ua.base": "67b5bcdb380c29f85d56a012ecd88612ae020f30a6730d117a334ee8203b91f2",
        "ua.test": "d0497e202417720f57a184ec8c66be2d1afa4ff41bb53787c57b28d6bf79bc42",
        "ub.base": "237254d253b6ad7de84f919d041055428646254f34ed8f562703c899430cd881",
        "ub.test": "d54a72d05730d5892062734b2bec73e976f9b713d18c828a18b968d6cce442da",
    },
)

# The September 2018 release of "ml-latest-small" (its licence allows redistribution).
ML_LATEST_SMALL = Source(
    name="ml-latest-small",
    zip_name="ml-latest-small.zip",
    checksums={
        "ratings.csv": "aa289ca83157595d0df6aea1be6a4ded676ddc4385472e8313a8ed9805352646",
        "movies.csv": "5a5f32dd9bb3797b8e728a1b98958789d2b13f294a69fdfbc5727f8a9611aa07",
        "links.csv": "97ad18e4e56a09363c65676b6cb3482ce3e2cea2372a24620c1599c843325f31",
        "tags.csv": "92a9f8bb7916dceef6151209845788c3643f794dfa79d1feaec7121b5960399d",
    },
)

SOURCES = {source.name: source for source in (ML_100K, ML_LATEST_SMALL)}
# Every dataset `load_dataset` knows: the downloadable ones, and the generated stand-in.
DATASETS = (*SOURCES, "synthetic")
# ML-100K's canonical train/test splits: uN.base to train on, uN.test to measure on.
ML_100K_SPLITS = ("u1", "u2", "u3", "u4", "u5", "ua", "ub")


def sha256_of(path: Path) -> str:
    """The sha256 hex digest of a file, read in chunks so large files use little memory."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify(folder: Path, source: Source) -> None:
    """Raise `DataError` naming the first file that is missing or differs from its pin."""
    for file_name, expected in source.checksums.items():
        path = folder / file_name
        if not path.is_file():
            raise DataError(f"{path} is missing")
        actual = sha256_of(path)
        if actual != expected:
            raise DataError(
                f"{path} does not match its pinned sha256 (expected {expected[:12]}…, got "
                f"{actual[:12]}…): delete the folder and run `python -m movierec download` again"
            )


def is_cached(source: Source, data_dir: Path | None = None) -> bool:
    """True when every file of the dataset is in the cache and matches its checksum."""
    try:
        verify((data_dir or locations.data_dir()) / source.name, source)
    except DataError:
        return False
    return True


def download(
    source: Source,
    data_dir: Path | None = None,
    base_url: str | None = None,
    timeout: float = 30.0,
) -> Path:
    """Make sure `source` is in the cache, downloading and verifying it if needed.

    Returns the dataset's folder. Raises `DataError` when the download fails or a file does not
    match its pinned sha256; nothing half-verified is ever left in the cache.
    """
    data_dir = data_dir or locations.data_dir()
    target = data_dir / source.name
    if target.exists():
        verify(target, source)  # reuse what is there, but never trust it blindly
        return target

    import requests  # here, not at the top: `python -m movierec --help` must stay fast

    url = f"{base_url or locations.movielens_base_url()}/{source.zip_name}"
    try:
        response = requests.get(url, timeout=timeout)
        response.raise_for_status()
    except requests.ConnectionError:
        raise DataError(f"could not download {url}: no connection (offline?)") from None
    except requests.RequestException as error:
        raise DataError(f"could not download {url}: {error}") from None

    data_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=data_dir, prefix=f".{source.name}-") as tmp:
        try:
            with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
                archive.extractall(tmp)
        except zipfile.BadZipFile as error:
            raise DataError(f"{url} is not a valid zip file: {error}") from error
        extracted = Path(tmp) / source.name  # GroupLens zips hold one folder named after the set
        verify(extracted, source)
        shutil.move(extracted, target)  # only a fully verified folder reaches the cache
    return target
