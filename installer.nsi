; NSIS installer for the Windows one-folder bundle made by `pyinstaller build.spec`.
;
;   makensis -DVERSION=0.1.0 installer.nsi     (packaging/README.md: building on Windows)
;
; Per user, no administrator: files under %LOCALAPPDATA%\Programs, shortcuts in the user's
; Start menu, the Add/Remove Programs entry and start-at-login under HKCU. Before files are
; replaced or removed, a running llmgw-desktop is asked to quit (`llmgw-desktop-cli quit`,
; which waits until it has). The Run value is the one the app's own "Start at login" switch
; reads and writes (llmgw_desktop/shell/autostart.py), so the two always agree.
Unicode true
ManifestDPIAware true
SetCompressor /SOLID lzma

!define APPNAME "llmgw-desktop"
!define PUBLISHER "llmgw-desktop developers"
!define UNINSTALL_KEY "Software\Microsoft\Windows\CurrentVersion\Uninstall\${APPNAME}"
!define RUN_KEY "Software\Microsoft\Windows\CurrentVersion\Run"
!ifndef VERSION
  !error "pass the version: makensis -DVERSION=<pyproject.toml's version> installer.nsi"
!endif
; Where the bundle is, and where the installer goes (a test points both at a scratch dir).
!ifndef DIST_DIR
  !define DIST_DIR "dist\${APPNAME}"
!endif
!ifndef OUT_FILE
  !define OUT_FILE "dist\${APPNAME}-${VERSION}-setup.exe"
!endif
!ifndef ICON
  !define ICON "resources\icons\app\${APPNAME}.ico"
!endif

!include "MUI2.nsh"
!include "LogicLib.nsh"
!include "FileFunc.nsh"

Name "${APPNAME} ${VERSION}"
OutFile "${OUT_FILE}"
InstallDir "$LOCALAPPDATA\Programs\${APPNAME}"
InstallDirRegKey HKCU "${UNINSTALL_KEY}" "InstallLocation"
RequestExecutionLevel user

; The installer's own Explorer "Details" want four numbers: X.Y.Z of VERSION plus .0. For a
; version that is not plain X.Y.Z (1.2.0rc1), pass them too: -DVI_VERSION=1.2.0.0.
!ifndef VI_VERSION
  !searchparse "${VERSION}" "" V_MAJOR "." V_MINOR "." V_PATCH
  !define VI_VERSION "${V_MAJOR}.${V_MINOR}.${V_PATCH}.0"
!endif
VIProductVersion "${VI_VERSION}"
VIAddVersionKey "ProductName" "${APPNAME}"
VIAddVersionKey "ProductVersion" "${VERSION}"
VIAddVersionKey "FileVersion" "${VERSION}"
VIAddVersionKey "CompanyName" "${PUBLISHER}"
VIAddVersionKey "FileDescription" "${APPNAME} installer"
VIAddVersionKey "LegalCopyright" "MIT License"

!define MUI_ICON "${ICON}"
!define MUI_UNICON "${ICON}"
!define MUI_ABORTWARNING
!define MUI_FINISHPAGE_RUN "$INSTDIR\${APPNAME}.exe"
!define MUI_FINISHPAGE_RUN_TEXT "Start ${APPNAME} now"
!insertmacro MUI_PAGE_DIRECTORY
!insertmacro MUI_PAGE_COMPONENTS
!insertmacro MUI_PAGE_INSTFILES
!insertmacro MUI_PAGE_FINISH
!insertmacro MUI_UNPAGE_CONFIRM
!insertmacro MUI_UNPAGE_INSTFILES
!insertmacro MUI_LANGUAGE "English"

; Ask the running app (any version with the `quit` command) to quit and wait until it has.
; Older builds without it: the user is asked to quit it from the tray, then retry.
!macro QUIT_RUNNING_APP UN
Function ${UN}QuitRunningApp
  ${IfNot} ${FileExists} "$INSTDIR\${APPNAME}-cli.exe"
    Return
  ${EndIf}
  ask:
    nsExec::ExecToLog '"$INSTDIR\${APPNAME}-cli.exe" quit --wait 30'
    Pop $0
    StrCmp $0 "0" done
    MessageBox MB_RETRYCANCEL|MB_ICONEXCLAMATION \
      "${APPNAME} is still running and did not quit when asked.$\n$\nQuit it from its tray icon, then choose Retry." \
      /SD IDCANCEL IDRETRY ask
    Abort
  done:
FunctionEnd
!macroend
!insertmacro QUIT_RUNNING_APP ""
!insertmacro QUIT_RUNNING_APP "un."

Section "${APPNAME}" SecApp
  SectionIn RO
  Call QuitRunningApp
  SetOutPath "$INSTDIR"
  ; An upgrade replaces the whole folder: files a newer bundle no longer has must not linger.
  RMDir /r "$INSTDIR\_internal"
  File /r "${DIST_DIR}\*.*"
  File "/oname=$INSTDIR\${APPNAME}.ico" "${ICON}"
  WriteUninstaller "$INSTDIR\uninstall.exe"
  CreateShortcut "$SMPROGRAMS\${APPNAME}.lnk" "$INSTDIR\${APPNAME}.exe" "" "$INSTDIR\${APPNAME}.ico"

  WriteRegStr HKCU "${UNINSTALL_KEY}" "DisplayName" "${APPNAME}"
  WriteRegStr HKCU "${UNINSTALL_KEY}" "DisplayVersion" "${VERSION}"
  WriteRegStr HKCU "${UNINSTALL_KEY}" "Publisher" "${PUBLISHER}"
  WriteRegStr HKCU "${UNINSTALL_KEY}" "DisplayIcon" "$INSTDIR\${APPNAME}.ico"
  WriteRegStr HKCU "${UNINSTALL_KEY}" "InstallLocation" "$INSTDIR"
  WriteRegStr HKCU "${UNINSTALL_KEY}" "UninstallString" '"$INSTDIR\uninstall.exe"'
  WriteRegStr HKCU "${UNINSTALL_KEY}" "QuietUninstallString" '"$INSTDIR\uninstall.exe" /S'
  WriteRegDWORD HKCU "${UNINSTALL_KEY}" "NoModify" 1
  WriteRegDWORD HKCU "${UNINSTALL_KEY}" "NoRepair" 1
  ${GetSize} "$INSTDIR" "/S=0K" $0 $1 $2
  IntFmt $0 "0x%08X" $0
  WriteRegDWORD HKCU "${UNINSTALL_KEY}" "EstimatedSize" "$0"
SectionEnd

Section /o "Desktop shortcut" SecDesktop
  CreateShortcut "$DESKTOP\${APPNAME}.lnk" "$INSTDIR\${APPNAME}.exe" "" "$INSTDIR\${APPNAME}.ico"
SectionEnd

Section "Start at login (in the tray)" SecLogin
  ; The same value the app's "Start at login" switch writes: the windowed exe, hidden.
  WriteRegStr HKCU "${RUN_KEY}" "${APPNAME}" '"$INSTDIR\${APPNAME}.exe" --hidden'
SectionEnd

!insertmacro MUI_FUNCTION_DESCRIPTION_BEGIN
  !insertmacro MUI_DESCRIPTION_TEXT ${SecApp} "The app and its command-line twin (${APPNAME}-cli.exe)."
  !insertmacro MUI_DESCRIPTION_TEXT ${SecDesktop} "A shortcut on the desktop."
  !insertmacro MUI_DESCRIPTION_TEXT ${SecLogin} "Start ${APPNAME} in the tray when you log in (change it later in Settings or the tray menu)."
!insertmacro MUI_FUNCTION_DESCRIPTION_END

Section "Uninstall"
  Call un.QuitRunningApp
  Delete "$SMPROGRAMS\${APPNAME}.lnk"
  Delete "$DESKTOP\${APPNAME}.lnk"
  DeleteRegValue HKCU "${RUN_KEY}" "${APPNAME}"
  DeleteRegKey HKCU "${UNINSTALL_KEY}"
  ; The program only: the user's settings, database and logs (in their own folders) stay.
  RMDir /r "$INSTDIR\_internal"
  Delete "$INSTDIR\${APPNAME}.exe"
  Delete "$INSTDIR\${APPNAME}-cli.exe"
  Delete "$INSTDIR\${APPNAME}.ico"
  Delete "$INSTDIR\uninstall.exe"
  RMDir "$INSTDIR"
SectionEnd
