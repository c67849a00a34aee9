//! tinyrnn: recurrent networks one timestep at a time, without a heap.
#![no_std]
