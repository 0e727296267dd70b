#pragma once
// glibc's socket headers first: linux/netfilter.h pulls in linux/in.h and linux/in6.h, which then
// leave in_addr/in6_addr to glibc (libc-compat.h). Otherwise this module and CNL3 define them
// differently and a Swift module importing both fails to build.
#include <sys/socket.h>
#include <netinet/in.h>
#include <libnftnl/table.h>
#include <libnftnl/chain.h>
#include <libnftnl/rule.h>
#include <libnftnl/expr.h>
#include <libnftnl/set.h>
#include <libnftnl/batch.h>
#include <libnftnl/common.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <libnftnl/udata.h>
