/* SPDX-License-Identifier: Apache-2.0 */
/* ward-tray's translatable strings: gettext's domain "ward-tray" (tray/po/). */
#ifndef TRAY_I18N_H
#define TRAY_I18N_H

#include <libintl.h>

#define TRAY_DOMAIN "ward-tray"
#define _(s) dgettext(TRAY_DOMAIN, s)
#define N_(s) (s)

#endif
