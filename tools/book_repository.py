"""Sphinx extension: the course's repository address is one setting, ``repository: url:`` in _config.yml.

When it is set, the pages show the GitHub button and the Binder and Colab launch buttons (from
``launch_buttons:``), and the substitution ``{{ colab_install }}`` (used by intro.md) is the
command that installs rnnlib from that repository in Colab. When it is empty, no page shows a
button that would lead nowhere, and ``{{ colab_install }}`` says that the address is not published
yet. README.md names no address: it is read on the repository's own page.
"""

REPOSITORY_BUTTONS = ("use_repository_button", "use_issues_button", "use_edit_page_button")


def repository_url(config):
    """The repository address set in _config.yml (``repository: url:``), or "" when unset."""
    return (config.html_theme_options.get("repository_url") or "").strip().rstrip("/")


def apply_repository_setting(app, config):
    options = config.html_theme_options
    url = repository_url(config)
    substitutions = dict(config.myst_substitutions or {})
    if url:
        options["repository_url"] = url
        options["use_repository_button"] = True
        substitutions["colab_install"] = f"`!pip install git+{url}`"
    else:
        options.pop("repository_url", None)
        for button in REPOSITORY_BUTTONS:
            options[button] = False
        options["launch_buttons"] = {}
        substitutions["colab_install"] = (
            "`!pip install git+` followed by the address of the course's repository (not published yet)"
        )
    config.myst_substitutions = substitutions


def setup(app):
    app.setup_extension("myst_nb")
    app.connect("config-inited", apply_repository_setting, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
