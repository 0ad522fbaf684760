/* rapt/rapt.h: the whole public API of librapt, one header per module.
 *
 * Link with `pkg-config --cflags --libs rapt` or CMake `find_package(rapt)` (target rapt::rapt).
 * Conventions shared by every module are in rapt/common.h.
 */
#ifndef RAPT_RAPT_H
#define RAPT_RAPT_H

#include "rapt/common.h"
#include "rapt/sys.h"
#include "rapt/plan.h"
#include "rapt/jobclass.h"
#include "rapt/history.h"
#include "rapt/model.h"
#include "rapt/sched.h"
#include "rapt/tune.h"
#include "rapt/report.h"
#include "rapt/monitor.h"
#include "rapt/gate.h"
#include "rapt/arena.h"
#include "rapt/pool.h"
#include "rapt/objpool.h"

#endif /* RAPT_RAPT_H */
