"""The `report` command: one self-contained HTML file with charts of the loaded run history.

`queries` reads the numbers from the views, `charts` draws them (matplotlib, inline SVG), `render`
assembles the page, and `command` wires it to the CLI. Nothing is fetched when the file is opened.
"""
