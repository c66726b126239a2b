/* tdi_version: the version of tdi, in `tdi --version`, the run ledger and the state schema log. */
#ifndef TDI_VERSION_H
#define TDI_VERSION_H

#define TDI_VERSION "0.3.0"

#endif
