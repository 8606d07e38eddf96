; NSIS installer for the Windows one-folder build made by `pyinstaller build.spec`.
; Minimal: installs per user, adds a Start menu shortcut and an uninstaller.
Unicode true
!define APPNAME "llmgw-desktop"
Name "${APPNAME}"
OutFile "dist\${APPNAME}-setup.exe"
InstallDir "$LOCALAPPDATA\Programs\${APPNAME}"
RequestExecutionLevel user

Section "Install"
  SetOutPath "$INSTDIR"
  File /r "dist\${APPNAME}\*.*"
  CreateShortcut "$SMPROGRAMS\${APPNAME}.lnk" "$INSTDIR\${APPNAME}.exe"
  WriteUninstaller "$INSTDIR\uninstall.exe"
SectionEnd

Section "Uninstall"
  Delete "$SMPROGRAMS\${APPNAME}.lnk"
  RMDir /r "$INSTDIR"
SectionEnd
