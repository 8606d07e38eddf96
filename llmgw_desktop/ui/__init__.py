"""The desktop face: tray, window, dialogs. The only package that imports Qt."""
