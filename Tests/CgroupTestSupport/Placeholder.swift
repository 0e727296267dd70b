// The shared fake cgroupfs lands here (replacing this file).
enum CgroupTestSupportPlaceholder {}
