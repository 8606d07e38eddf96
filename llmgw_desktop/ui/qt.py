"""The one place the UI imports Qt from, so the binding and its quirks live in one file."""

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QGuiApplication, QIcon, QPixmap
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMenu,
    QMessageBox,
    QPushButton,
    QSystemTrayIcon,
    QVBoxLayout,
    QWidget,
)

__all__ = [
    "QAction",
    "QActionGroup",
    "QApplication",
    "QCheckBox",
    "QCloseEvent",
    "QFormLayout",
    "QGroupBox",
    "QGuiApplication",
    "QHBoxLayout",
    "QIcon",
    "QLabel",
    "QListWidget",
    "QListWidgetItem",
    "QMainWindow",
    "QMenu",
    "QMessageBox",
    "QObject",
    "QPixmap",
    "QPushButton",
    "QSystemTrayIcon",
    "QTimer",
    "QVBoxLayout",
    "QWidget",
    "Qt",
    "Signal",
]
