#pragma once
// The public API of swd in one include.

#include "swd/data/dataset.h"
#include "swd/data/loader.h"
#include "swd/optim/adai.h"
#include "swd/optim/adam.h"
#include "swd/optim/decay.h"
#include "swd/optim/optimizer_base.h"
#include "swd/optim/paper_names.h"
#include "swd/optim/param_groups.h"
#include "swd/optim/sgd.h"
#include "swd/runtime.h"
