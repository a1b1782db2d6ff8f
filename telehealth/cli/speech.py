"""Speech commands: which models are installed, fetching and verifying them, transcribing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Literal

import typer

from telehealth.cli.common import CommandFailed, expected_failures
from telehealth.settings import load_settings
from telehealth.speech import describe_models
from voice.errors import AudioFormatError

models_app = typer.Typer(help="Speech models.", no_args_is_help=True)

TranscribeFormat = Literal["text", "json", "vtt", "srt"]


@models_app.command("list")
@expected_failures
def models_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Which speech engines and models are installed, and which one is active."""
    settings = load_settings()
    report = describe_models(settings)
    if as_json:
        typer.echo(json.dumps(report, indent=2))
        return
    typer.echo(f"speech engine setting: {report['setting']} (language {report['language']})")
    active = report["active"]
    if active:
        typer.echo(f"active: {active['engine']} {active['model']} [{active['language']}]")
    else:
        typer.echo(f"active: none ({report['problem']})")
    typer.echo("installed:")
    for model in report["installed"]:
        typer.echo(
            f"  {model['engine']:8} {model['model']:32} {model['language']:4} {model['path']}"
        )


@models_app.command("fetch")
@expected_failures
def models_fetch(
    name: Annotated[str, typer.Argument(help="Model name, e.g. vosk-model-small-en-us-0.15.")],
    base_url: Annotated[
        str | None, typer.Option(help="Download from this mirror instead of the official site.")
    ] = None,
    replace: Annotated[bool, typer.Option(help="Replace an installed model.")] = False,
) -> None:
    """Download a Vosk model into the models directory (resumes an interrupted download)."""
    from voice.fetch import DEFAULT_BASE_URL, fetch_model

    settings = load_settings()
    with typer.progressbar(length=1, label=f"fetching {name}", file=None) as bar:
        shown = 0

        def progress(done: int, total: int | None) -> None:
            nonlocal shown
            if total:
                bar.length = total
            bar.update(done - shown)
            shown = done

        manifest = fetch_model(
            name,
            Path(settings.models_dir),
            base_url=base_url or DEFAULT_BASE_URL,
            progress=progress,
            replace=replace,
        )
    typer.echo(f"installed {manifest.name} ({manifest.language}) in {settings.models_dir}")


@models_app.command("verify")
@expected_failures
def models_verify() -> None:
    """Check every installed model against the SHA-256 digests recorded when it was fetched."""
    from voice.fetch import verify_models

    settings = load_settings()
    results = verify_models(Path(settings.models_dir))
    if not results:
        typer.echo(f"no fetched models in {settings.models_dir}")
        return
    bad = 0
    for result in results:
        if result.ok:
            typer.echo(f"ok        {result.name} ({result.files_checked} files)")
            continue
        bad += 1
        problems = result.problem or ", ".join(
            [f"changed: {p}" for p in result.mismatched[:3]]
            + [f"missing: {p}" for p in result.missing[:3]]
            + [f"unexpected: {p}" for p in result.unexpected[:3]]
        )
        typer.echo(f"MISMATCH  {result.name}: {problems}")
    if bad:
        raise CommandFailed(f"{bad} model(s) failed verification")


@expected_failures
def transcribe(
    file: Annotated[Path, typer.Argument(help="A WAV file (any rate, mono or stereo).")],
    engine: Annotated[
        Literal["auto", "vosk", "whisper"], typer.Option(help="Speech engine.")
    ] = "auto",
    language: Annotated[str, typer.Option(help="Spoken language.")] = "en",
    output_format: Annotated[
        TranscribeFormat, typer.Option("--format", help="text, json, vtt or srt.")
    ] = "text",
) -> None:
    """Transcribe a WAV file through the same streaming path as live captions."""
    from voice.formats import format_finals
    from voice.transcribe import transcribe_file

    settings = load_settings()
    if not file.is_file():
        raise CommandFailed(f"no such file: {file}")
    try:
        finals = transcribe_file(
            file,
            engine=engine,
            language=language,
            models_dir=settings.models_dir,
            vosk_model=settings.vosk_model,
            whisper_model=settings.whisper_model,
        )
    except AudioFormatError as error:
        raise CommandFailed(f"{file}: {error}") from None
    typer.echo(format_finals(finals, output_format).rstrip("\n"))


def register(app: typer.Typer) -> None:
    app.add_typer(models_app, name="models")
    app.command()(transcribe)
